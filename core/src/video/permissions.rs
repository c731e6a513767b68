//! Who may use the camera and microphone during a visit: the one decision every visit window
//! makes (WebView2's `PermissionRequested`, WKWebView's media-capture delegate, the grants
//! written into the Chromium app window's profile), kept here as plain code so Linux tests
//! cover what Windows and macOS run.
//!
//! Only two origins ever get media: the core's own one-time visit page (it runs the device
//! check and embeds the meeting; Chromium and WebView2 ask on behalf of the top-level page)
//! and the Jitsi origin whose certificate Rounds verified for this visit (the meeting frame).
//! Nothing else, and no other kind of permission (screen capture, location, notifications,
//! MIDI, clipboard…): the clinician is never asked, and nothing is left granted for later.

use url::Url;

/// What a page asks for, as each webview names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Camera,
    Microphone,
    /// Anything else (screen capture, geolocation, notifications, …): always denied.
    Other,
}

impl MediaKind {
    /// WebView2's `COREWEBVIEW2_PERMISSION_KIND` values (1 = microphone, 2 = camera).
    pub fn from_webview2(kind: i32) -> Self {
        match kind {
            1 => Self::Microphone,
            2 => Self::Camera,
            _ => Self::Other,
        }
    }

    /// WKWebView's `WKMediaCaptureType` (0 camera, 1 microphone, 2 both); "both" is asked as
    /// one request and answered for both.
    pub fn from_wk_capture_type(t: isize) -> Vec<Self> {
        match t {
            0 => vec![Self::Camera],
            1 => vec![Self::Microphone],
            2 => vec![Self::Camera, Self::Microphone],
            _ => vec![Self::Other],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Allow,
    Deny,
}

/// The two origins of one visit, fixed when the visit starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitOrigins {
    /// `http://127.0.0.1:<port>`: the core's visit page.
    page: String,
    /// `https://<jitsi domain>`: as Rounds verified it.
    meeting: String,
}

impl VisitOrigins {
    /// From the visit page's URL and the verified meeting origin. `None` when either is not
    /// what Rounds makes (a loopback http page, an https meeting): nothing is granted then.
    pub fn new(page_url: &Url, meeting: &Url) -> Option<Self> {
        let loopback = matches!(page_url.host_str(), Some("127.0.0.1"));
        if page_url.scheme() != "http" || !loopback || meeting.scheme() != "https" {
            return None;
        }
        Some(Self {
            page: page_url.origin().ascii_serialization(),
            meeting: meeting.origin().ascii_serialization(),
        })
    }

    pub fn page(&self) -> &str {
        &self.page
    }

    pub fn meeting(&self) -> &str {
        &self.meeting
    }

    /// The answer for a request from `requesting` (a URL or an origin, as the webview reports
    /// it) for `kind`. Anything that does not parse, or is not exactly one of the two
    /// origins (scheme, host and port), is denied.
    pub fn decide(&self, requesting: &str, kind: MediaKind) -> Grant {
        if kind == MediaKind::Other {
            return Grant::Deny;
        }
        let Ok(u) = Url::parse(requesting) else {
            return Grant::Deny;
        };
        let o = u.origin();
        if !o.is_tuple() {
            return Grant::Deny;
        }
        let o = o.ascii_serialization();
        if o == self.page || o == self.meeting {
            Grant::Allow
        } else {
            Grant::Deny
        }
    }

    /// Chromium content-settings patterns (`<origin>,*`) to pre-grant camera and microphone
    /// in the app window's fresh profile. Chromium asks on behalf of the top-level page, so
    /// the page's origin is what it checks; the meeting frame gets media only through the
    /// page's `allow="camera; microphone"` and its CSP, which admits that one origin.
    pub fn chromium_patterns(&self) -> Vec<String> {
        let with_port = |o: &str| -> String {
            // Chromium writes patterns with an explicit port.
            match Url::parse(o) {
                Ok(u) if u.port().is_none() => {
                    format!("{o}:{}", u.port_or_known_default().unwrap_or(443))
                }
                _ => o.to_string(),
            }
        };
        vec![
            format!("{},*", with_port(&self.page)),
            format!("{},*", with_port(&self.meeting)),
        ]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot set up should stop there
mod tests {
    use super::*;

    fn origins() -> VisitOrigins {
        VisitOrigins::new(
            &Url::parse("http://127.0.0.1:40123/visit/abc/").unwrap(),
            &Url::parse("https://meet.example.org").unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn camera_and_microphone_only_for_the_visit_page_and_the_verified_meeting() {
        let o = origins();
        for (who, kind, want) in [
            (
                "https://meet.example.org/appt-x?jwt=1",
                MediaKind::Camera,
                Grant::Allow,
            ),
            (
                "https://meet.example.org",
                MediaKind::Microphone,
                Grant::Allow,
            ),
            (
                "https://meet.example.org:443/",
                MediaKind::Camera,
                Grant::Allow,
            ),
            (
                "http://127.0.0.1:40123/visit/abc/",
                MediaKind::Microphone,
                Grant::Allow,
            ),
            (
                "http://127.0.0.1:40123/visit/abc/",
                MediaKind::Other,
                Grant::Deny,
            ),
            ("https://meet.example.org", MediaKind::Other, Grant::Deny),
            // Same host, another scheme or port; look-alikes; other loopback ports.
            ("http://meet.example.org", MediaKind::Camera, Grant::Deny),
            (
                "https://meet.example.org:8443",
                MediaKind::Camera,
                Grant::Deny,
            ),
            (
                "https://meet.example.org.evil.test",
                MediaKind::Camera,
                Grant::Deny,
            ),
            (
                "https://evil.test/#https://meet.example.org",
                MediaKind::Camera,
                Grant::Deny,
            ),
            ("https://user@evil.test", MediaKind::Microphone, Grant::Deny),
            ("http://127.0.0.1:40124/", MediaKind::Camera, Grant::Deny),
            ("http://localhost:40123/", MediaKind::Camera, Grant::Deny),
            ("data:text/html,x", MediaKind::Camera, Grant::Deny),
            ("about:blank", MediaKind::Microphone, Grant::Deny),
            ("file:///tmp/x.html", MediaKind::Camera, Grant::Deny),
            ("", MediaKind::Camera, Grant::Deny),
            ("not a url", MediaKind::Microphone, Grant::Deny),
        ] {
            assert_eq!(o.decide(who, kind), want, "{who} {kind:?}");
        }
    }

    #[test]
    fn only_a_loopback_page_and_an_https_meeting_make_a_visit() {
        let https = Url::parse("https://meet.example.org").unwrap();
        let page = Url::parse("http://127.0.0.1:1/visit/x/").unwrap();
        assert!(VisitOrigins::new(&page, &https).is_some());
        assert!(VisitOrigins::new(&Url::parse("http://10.0.0.1:1/").unwrap(), &https).is_none());
        assert!(
            VisitOrigins::new(&page, &Url::parse("http://meet.example.org").unwrap()).is_none()
        );
    }

    #[test]
    fn webview_kinds_map_to_camera_and_microphone_only() {
        assert_eq!(MediaKind::from_webview2(1), MediaKind::Microphone);
        assert_eq!(MediaKind::from_webview2(2), MediaKind::Camera);
        for k in [0, 3, 4, 5, 6, 7, 8, 9, 10, 99, -1] {
            assert_eq!(MediaKind::from_webview2(k), MediaKind::Other, "{k}");
        }
        assert_eq!(
            MediaKind::from_wk_capture_type(2),
            vec![MediaKind::Camera, MediaKind::Microphone]
        );
        assert_eq!(MediaKind::from_wk_capture_type(7), vec![MediaKind::Other]);
    }

    #[test]
    fn chromium_patterns_name_both_origins_with_their_ports() {
        assert_eq!(
            origins().chromium_patterns(),
            vec!["http://127.0.0.1:40123,*", "https://meet.example.org:443,*"]
        );
    }
}
