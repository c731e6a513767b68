//! [`Transport`] over the core's one HTTP client, `net::NetClient` (needs its
//! `post_form_reply` / `post_json_reply`, which return 4xx answers with their bodies).

use super::transport::{Param, Reply, Transport};
use crate::net::{Credential, Form, NetClient, NetError};
use crate::secret::Secret;
use url::Url;

impl Transport for NetClient {
    async fn get_json(&self, url: &Url, bearer: Option<Secret>) -> Result<Reply, NetError> {
        let cred = bearer.map(|b| Credential::bearer(url, b));
        let body = self.get_json_with(url, cred.as_ref()).await?;
        Ok(Reply { status: 200, body })
    }

    async fn post_form(
        &self,
        url: &Url,
        fields: Vec<(&'static str, Param)>,
    ) -> Result<Reply, NetError> {
        let mut form = Form::for_server(url);
        for (k, v) in fields {
            form = match v {
                Param::Text(t) => form.text(k, &t),
                Param::Secret(s) => form.secret(k, s),
            };
        }
        let r = self.post_form_reply(url, &form, None).await?;
        Ok(Reply {
            status: r.status,
            body: r.body,
        })
    }

    async fn post_json(
        &self,
        url: &Url,
        body: &serde_json::Value,
        bearer: Option<Secret>,
    ) -> Result<Reply, NetError> {
        let cred = bearer.map(|b| Credential::bearer(url, b));
        let r = self.post_json_reply(url, body, cred.as_ref()).await?;
        Ok(Reply {
            status: r.status,
            body: r.body,
        })
    }
}
