//! The session's access token for resource calls (the schedule sync), from the keychain.
//!
//! `token` gives the stored access token while it has more than the renewal margin left, else
//! renews; `renew` is for after the server refused a token (a 401): the caller retries once
//! with the fresh one (clinic-api §1.3). Renewals share the app's sign-in memory, so they are
//! serialised with the UI's own renewals (refresh tokens rotate).

use super::{Account, AuthError, Authenticator, SignInMemory};
use crate::net::NetClient;
use crate::schedule::{BoxFuture, TokenSource};
use crate::secret::Secret;
use crate::vault::Vault;
use std::sync::Arc;

pub struct KeychainTokens {
    net: NetClient,
    vault: Vault,
    acct: Account,
    keep_refresh: bool,
    mem: Arc<SignInMemory>,
}

impl KeychainTokens {
    pub fn new(
        net: NetClient,
        vault: Vault,
        acct: Account,
        keep_refresh: bool,
        mem: Arc<SignInMemory>,
    ) -> Self {
        Self {
            net,
            vault,
            acct,
            keep_refresh,
            mem,
        }
    }

    /// The clinic's `userinfo_endpoint`, from discovery (OIDC Discovery §3): servers put it
    /// where they like (OpenEMR `oauth2/{site}/userinfo`, oidc-provider `…/me`).
    pub async fn userinfo_endpoint(&self) -> Option<url::Url> {
        self.auth()
            .discover(&self.acct)
            .await
            .ok()?
            .userinfo_endpoint
    }

    fn auth(&self) -> Authenticator<'_, NetClient> {
        Authenticator::new(self.net.clone(), &self.vault)
            .keep_refresh(self.keep_refresh)
            .with_memory(self.mem.clone())
    }
}

impl TokenSource for KeychainTokens {
    fn token(&self) -> BoxFuture<'_, Result<Secret, AuthError>> {
        Box::pin(async move { self.auth().access_token(&self.acct).await })
    }

    fn renew(&self) -> BoxFuture<'_, Result<Secret, AuthError>> {
        Box::pin(async move {
            let auth = self.auth();
            auth.refresh(&self.acct).await?;
            auth.access_token(&self.acct).await
        })
    }
}
