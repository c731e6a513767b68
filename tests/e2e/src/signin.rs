//! Sign-in steps as a clinician takes them in the window: the demo sign-in, the form, and
//! enrolling a test authenticator.

use fantoccini::Locator;

use crate::harness::Harness;
use crate::sandbox::DEMO_PASSWORD;
use crate::{Result, authenticator};

impl Harness {
    /// Signs a demo clinician in as they would: waits until the connection to the clinic is
    /// verified, then the demo password and the authenticator's current code.
    pub async fn sign_in_demo(&self, user: &str) -> Result<()> {
        self.wait_attr("[data-testid=server-status]", "data-state", "ok")
            .await?;
        let code = self.sandbox.totp(user)?;
        self.submit_sign_in(Some(user), DEMO_PASSWORD, Some(&code))
            .await
    }

    /// Fills the sign-in form and submits it. `user: None` keeps the user name already there
    /// (the form keeps it after a failed attempt); `code: None` leaves the code empty.
    pub async fn submit_sign_in(
        &self,
        user: Option<&str>,
        password: &str,
        code: Option<&str>,
    ) -> Result<()> {
        if let Some(u) = user {
            self.wait_for("#username").await?.send_keys(u).await?;
        }
        self.client
            .find(Locator::Id("password"))
            .await?
            .send_keys(password)
            .await?;
        if let Some(c) = code {
            self.client
                .find(Locator::Id("totp"))
                .await?
                .send_keys(c)
                .await?;
        }
        self.client
            .find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        Ok(())
    }

    /// On the enrollment screen: reads the key shown for typing by hand, answers with the
    /// current code from a test authenticator, and confirms. Returns (key as shown, code).
    pub async fn enroll_with_test_authenticator(&self) -> Result<(String, String)> {
        let key = self
            .wait_for("[data-testid=manual-key]")
            .await?
            .text()
            .await?;
        let code = authenticator::code_now(&key).ok_or("manual key is not base32")?;
        self.client
            .find(Locator::Id("enroll-code"))
            .await?
            .send_keys(&code)
            .await?;
        self.client
            .find(Locator::XPath(
                "//button[normalize-space()='Confirm and sign in']",
            ))
            .await?
            .click()
            .await?;
        Ok((key, code))
    }
}
