//! The PDS's version as `/xrpc/_health` reports it. The Docker image is still tagged `0.4`
//! but ships `@atproto/pds` 0.5.x, which reports itself as `0.4.5NNN` for 0.5.NN (so that
//! Watchtower keeps updating within "0.4"): decode before comparing (PDS-FACTS).

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What an operator gets from a version on (PDS-FACTS "The PDS in 2026"). Advice and
/// checks that depend on the version ask `since`, never the reported string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// `/account`: email, handle, deactivation and deletion, and
    /// `/.well-known/change-password`.
    AccountPage,
    /// describeServer reports `blobUploadLimit`.
    UploadLimitReported,
    /// `PDS_BACKGROUND_{LIGHT,DARK}_URL` instead of the colour theme.
    BackgroundImages,
    /// Two-factor sign-in by email, built in.
    EmailTwoFactor,
}

impl Feature {
    /// Oldest first.
    pub const ALL: [Feature; 4] = [
        Feature::AccountPage,
        Feature::UploadLimitReported,
        Feature::BackgroundImages,
        Feature::EmailTwoFactor,
    ];

    pub const fn since(self) -> Version {
        match self {
            // The oauth-provider mounted it in @atproto/pds 0.4.124 (create-account-page-middleware).
            Feature::AccountPage => Version::new(0, 4, 124),
            Feature::UploadLimitReported => Version::new(0, 5, 22),
            Feature::BackgroundImages => Version::new(0, 5, 26),
            Feature::EmailTwoFactor => Version::new(0, 5, 36),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Feature::AccountPage => "the account page at /account (email, handle, deactivation)",
            Feature::UploadLimitReported => "the upload limit in describeServer",
            Feature::BackgroundImages => "background images on the sign-in pages",
            Feature::EmailTwoFactor => "two-factor sign-in by email",
        }
    }
}

impl Version {
    pub fn has(self, f: Feature) -> bool {
        self >= f.since()
    }
}

/// What a PDS reports, read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reported {
    /// The package version it runs.
    pub version: Version,
    /// The string as reported, when it is the image's encoding (`0.4.5036`), not the
    /// package's own.
    pub as_reported: Option<String>,
}

impl Reported {
    /// `0.4.217` → 0.4.217; `0.4.5036` → 0.5.36 (reported as 0.4.5036); a `v` prefix and a
    /// `-suffix` are allowed. None for anything else.
    pub fn parse(s: &str) -> Option<Reported> {
        let t = s.trim().trim_start_matches('v');
        let t = t.split(['-', '+']).next().unwrap_or(t);
        let mut parts = t.split('.').map(|p| p.parse::<u32>().ok());
        let (Some(Some(major)), Some(Some(minor)), Some(Some(patch)), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        // 0.4.5NNN: the 0.5 line in the image's "0.4" tag.
        if (major, minor) == (0, 4) && (5000..6000).contains(&patch) {
            return Some(Reported {
                version: Version::new(0, 5, patch - 5000),
                as_reported: Some(format!("{major}.{minor}.{patch}")),
            });
        }
        Some(Reported {
            version: Version::new(major, minor, patch),
            as_reported: None,
        })
    }
}

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.as_reported {
            Some(r) => write!(f, "PDS {}, image tag {r}", self.version),
            None => write!(f, "PDS {}", self.version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_follow_the_decoded_version() {
        let image = Reported::parse("0.4.5036").unwrap().version;
        assert!(image.has(Feature::EmailTwoFactor) && image.has(Feature::AccountPage));
        // 0.4.217 serves /account (since 0.4.124), not the 0.5 features.
        let old = Reported::parse("0.4.217").unwrap().version;
        assert!(old.has(Feature::AccountPage) && !old.has(Feature::UploadLimitReported));
        assert!(!Version::new(0, 4, 123).has(Feature::AccountPage));
        let mid = Version::new(0, 5, 26);
        assert!(mid.has(Feature::BackgroundImages) && !mid.has(Feature::EmailTwoFactor));
        // ALL is oldest first, which the doctor's advice relies on.
        assert!(Feature::ALL.windows(2).all(|w| w[0].since() < w[1].since()));
    }

    #[test]
    fn the_images_encoding_is_decoded() {
        let r = Reported::parse("0.4.5036").unwrap();
        assert_eq!(r.version, Version::new(0, 5, 36));
        assert_eq!(r.to_string(), "PDS 0.5.36, image tag 0.4.5036");
        assert_eq!(
            Reported::parse("0.4.5001").unwrap().version,
            Version::new(0, 5, 1)
        );
        let r = Reported::parse("0.4.217").unwrap();
        assert_eq!(r.to_string(), "PDS 0.4.217");
        assert_eq!((r.version, r.as_reported), (Version::new(0, 4, 217), None));
        // The package's own version, as a lab or a non-Docker install reports it.
        assert_eq!(
            Reported::parse("0.5.36").unwrap().version,
            Version::new(0, 5, 36)
        );
        assert_eq!(
            Reported::parse("v0.5.2-rc.1").unwrap().version,
            Version::new(0, 5, 2)
        );
        // Decoded versions compare right: 0.4.5036 is newer than 0.4.217.
        assert!(
            Reported::parse("0.4.5036").unwrap().version
                > Reported::parse("0.4.217").unwrap().version
        );
        for bad in ["", "0.5", "latest", "0.4.x", "1.2.3.4"] {
            assert_eq!(Reported::parse(bad), None, "{bad:?}");
        }
    }
}
