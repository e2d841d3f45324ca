//! More settings: the keys operators set beyond the basics, by catalogue group — blob
//! storage on S3, the branding of the sign-in pages, the account recovery key — each
//! judged as the PDS judges it as you type, and where uploads go judged as the PDS does
//! when it starts (a bucket and a disk location together stop it).

use crate::envfile::catalogue::{self, Group};
use crate::envfile::Document;
use crate::finding::{Finding, Level};
use crate::tui::form::{Field, FieldKind, Form};
use crate::tui::steps::{form_mark, Drawn, Env, Mark, View};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;
use std::collections::BTreeMap;

/// The groups this step edits, in its order.
pub const GROUPS: [Group; 3] = [Group::BlobstoreS3, Group::Branding, Group::Recovery];

/// Short labels (the form's label column is 15 wide); the details line names the key.
const DISK: &str = "PDS_BLOBSTORE_DISK_LOCATION";

const LABELS: &[(&str, &str)] = &[
    (DISK, "Disk location"),
    ("PDS_BLOBSTORE_S3_BUCKET", "S3 bucket"),
    ("PDS_BLOBSTORE_S3_REGION", "S3 region"),
    ("PDS_BLOBSTORE_S3_ENDPOINT", "S3 endpoint"),
    ("PDS_BLOBSTORE_S3_FORCE_PATH_STYLE", "S3 path style"),
    ("PDS_BLOBSTORE_S3_ACCESS_KEY_ID", "S3 key ID"),
    ("PDS_BLOBSTORE_S3_SECRET_ACCESS_KEY", "S3 secret key"),
    ("PDS_BLOBSTORE_S3_UPLOAD_TIMEOUT_MS", "S3 upload ms"),
    ("PDS_BLOBSTORE_S3_REQUEST_TIMEOUT_MS", "S3 request ms"),
    ("PDS_SERVICE_NAME", "Service name"),
    ("PDS_LOGO_URL", "Logo URL"),
    ("PDS_HOME_URL", "Home link"),
    ("PDS_TERMS_OF_SERVICE_URL", "Terms link"),
    ("PDS_PRIVACY_POLICY_URL", "Privacy link"),
    ("PDS_SUPPORT_URL", "Support link"),
    ("PDS_PRIMARY_COLOR", "Primary colour"),
    ("PDS_ERROR_COLOR", "Error colour"),
    ("PDS_WARNING_COLOR", "Warning colour"),
    ("PDS_SUCCESS_COLOR", "Success colour"),
    ("PDS_INFO_COLOR", "Info colour"),
    ("PDS_BACKGROUND_LIGHT_URL", "Light backdrop"),
    ("PDS_BACKGROUND_DARK_URL", "Dark backdrop"),
    ("PDS_RECOVERY_DID_KEY", "Recovery key"),
];

/// The most rows kept below the form for the focused field's details.
const DETAILS_ROWS: u16 = 11;

pub struct Settings {
    pub form: Form,
}

impl Settings {
    pub fn new(doc: &Document) -> Settings {
        let fields = Self::keys()
            .map(|key| {
                let label = LABELS
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or(key, |(_, l)| *l);
                let secret = catalogue::lookup(key).is_some_and(|i| i.is_secret());
                let kind = if secret {
                    FieldKind::Secret
                } else {
                    FieldKind::Text
                };
                Field::new(key, label, kind, &doc.get(key).unwrap_or_default())
            })
            .collect();
        Settings {
            form: Form::new(fields),
        }
    }

    /// The keys this screen edits: the disk location (the other place uploads can go, so
    /// a move to S3 can be finished here), then every catalogue key of its groups.
    pub fn keys() -> impl Iterator<Item = &'static str> {
        std::iter::once(DISK).chain(GROUPS.iter().flat_map(|g| {
            catalogue::KEYS
                .iter()
                .filter(move |k| k.group == *g)
                .map(|k| k.name)
        }))
    }

    /// Handle a key; returns the field's new text when it changed.
    pub fn on_key(&mut self, k: KeyEvent) -> Option<(&'static str, String)> {
        let key = self.form.on_key(k)?;
        Some((key, self.form.text(key)))
    }

    /// Findings for every field: the catalogue's judgement of its value, the whole-file
    /// rules that name it (where uploads go) on pds.env as it will be saved, and errors
    /// from applying edits.
    pub fn refresh_findings(&mut self, working: &Document, errors: &BTreeMap<String, String>) {
        let has = |k: &str| working.get(k).is_some_and(|v| !v.is_empty());
        let whole = crate::envfile::blobstore_findings(&has);
        for f in &mut self.form.fields {
            let value = f.text();
            let mut found = catalogue::lookup(f.key)
                .map(|info| catalogue::validate(info, &value))
                .unwrap_or_default();
            found.extend(
                whole
                    .iter()
                    .filter(|w| w.subject.as_deref() == Some(f.key))
                    .cloned(),
            );
            if let Some(e) = errors.get(f.key) {
                if !found.iter().any(|x| x.level == Level::Fail) {
                    found.push(Finding::fail(e.clone()));
                }
            }
            if found.is_empty() {
                found.push(if value.is_empty() {
                    Finding::info("not set")
                } else {
                    Finding::pass("ok")
                });
            }
            f.findings = found;
        }
    }

    /// Whether any field is set (the step is then more than a list of options).
    pub fn any_set(&self) -> bool {
        self.form.fields.iter().any(|f| !f.text().is_empty())
    }
}

impl Drawn for Settings {
    fn busy(&self) -> bool {
        false
    }

    fn mark(&self, env: &Env) -> Mark {
        let rest = match self.any_set() {
            // Nothing here is required: done once something is set (and valid).
            true => Mark::Done,
            false => Mark::Open,
        };
        form_mark(&self.form, env, rest)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let (theme, focused, edits) = (view.theme, view.focused, view.edits);
        // The form scrolls with the focused field; the details keep the rows they need
        // (their text wrapped at this width), up to DETAILS_ROWS.
        let field = self.form.focused_field();
        let width = usize::from(area.width.max(1));
        let wrapped = |t: usize| t.div_ceil(width).max(1);
        let intro = catalogue::lookup(field.key).map_or(0, |i| {
            i.group.label().len() + i.name.len() + i.meaning.len() + 6
        });
        let needed = 1
            + wrapped(intro)
            + field
                .findings
                .iter()
                .filter(|f| f.level >= Level::Warn)
                .map(|f| wrapped(f.what.len() + f.why.len() + f.fix.len() + 8))
                .sum::<usize>();
        let details = u16::try_from(needed)
            .unwrap_or(DETAILS_ROWS)
            .min(DETAILS_ROWS);
        let form_area = Rect {
            height: area.height.saturating_sub(details).max(2),
            ..area
        };
        let y = self
            .form
            .draw(frame, form_area, theme, focused, &|k| edits.contains_key(k));
        if focused {
            let intro = catalogue::lookup(field.key)
                .map(|info| format!("{} · {} — {}", info.group.label(), info.name, info.meaning));
            self.form.draw_details_below(frame, area, y, theme, intro);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_the_groups_has_a_label_that_fits() {
        for key in Settings::keys() {
            let label = LABELS.iter().find(|(k, _)| *k == key);
            assert!(label.is_some_and(|(_, l)| l.chars().count() <= 15), "{key}");
        }
        assert_eq!(Settings::keys().count(), LABELS.len());
    }

    #[test]
    fn a_bucket_beside_the_disk_location_fails_on_the_bucket() {
        let doc = Document::parse(
            "PDS_BLOBSTORE_DISK_LOCATION=/pds/blocks\nPDS_BLOBSTORE_S3_BUCKET=uploads\n",
        );
        let mut s = Settings::new(&doc);
        s.refresh_findings(&doc, &BTreeMap::new());
        let bucket = s.form.field("PDS_BLOBSTORE_S3_BUCKET").unwrap();
        assert_eq!(bucket.worst(), Level::Fail);
        assert!(bucket
            .findings
            .iter()
            .any(|f| f.why.contains("refuses to start")));
        let colour = s.form.field("PDS_PRIMARY_COLOR").unwrap();
        assert_eq!(colour.worst(), Level::Info);
    }
}
