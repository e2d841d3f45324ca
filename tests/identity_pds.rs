//! Accounts and DID documents against the real PDS from npm with a PLC directory (LAB.md).

mod common;

use common::{PdsLab, PDS_ADMIN};
use pds_wizard::finding::Level;
use pds_wizard::http::HttpOptions;
use pds_wizard::identity::diddoc::{agreement, fetch};
use pds_wizard::identity::{Did, Handle};
use pds_wizard::pds::admin::Admin;
use pds_wizard::secret::Secret;
use std::time::Duration;

fn opts() -> HttpOptions {
    HttpOptions {
        timeout: Duration::from_secs(10),
        ca_file: None,
        connect_to: None,
    }
}

/// Every account, through the admin API as the wizard asks for them.
async fn list_accounts(
    pds_url: &str,
    password: &Secret,
    http: &pds_wizard::http::HttpOptions,
) -> Result<Vec<pds_wizard::pds::accounts::Account>, pds_wizard::finding::Finding> {
    Admin {
        pds_url: pds_url.to_string(),
        password: password.clone(),
        http: http.clone(),
    }
    .accounts()
    .await
}

#[tokio::test]
async fn accounts_and_did_documents_from_the_real_pds() {
    let lab = PdsLab::start();
    let alice = lab.create_account("alice.test");
    let bob = lab.create_account("bob.test");

    let accounts = list_accounts(&lab.pds_url, &Secret::new(PDS_ADMIN), &opts())
        .await
        .expect("listed");
    assert_eq!(accounts.len(), 2, "{accounts:#?}");
    let a = accounts.iter().find(|a| a.did == alice).unwrap();
    assert_eq!(
        (a.handle.as_str(), a.email.as_deref()),
        ("alice.test", Some("alice-test@example.test"))
    );
    assert!(accounts
        .iter()
        .any(|a| a.did == bob && a.handle == "bob.test"));

    // The wrong admin password is explained, not just "401".
    let e = list_accounts(&lab.pds_url, &Secret::new("wrong"), &opts())
        .await
        .unwrap_err();
    assert!(
        e.what.contains("refused the admin password") && e.fix.contains("restart"),
        "{e:#?}"
    );

    // The DID document agrees with the handle and this PDS…
    let did = Did::parse(&alice).unwrap();
    let doc = fetch(&did, &lab.plc_url, &opts()).await.expect("document");
    let ok = agreement(
        &doc,
        &did,
        &Handle::parse("alice.test").unwrap(),
        Some(&lab.pds_url),
    );
    assert!(
        ok.findings.iter().all(|f| f.level == Level::Pass),
        "{ok:#?}"
    );
    assert_eq!(ok.pds_endpoint.as_deref(), Some(lab.pds_url.as_str()));
    // …and disagreement is caught both ways: another handle, another PDS.
    let other_handle = agreement(
        &doc,
        &did,
        &Handle::parse("bob.test").unwrap(),
        Some(&lab.pds_url),
    );
    assert!(
        other_handle
            .findings
            .iter()
            .any(|f| f.level == Level::Fail && f.what.contains("names alice.test, not bob.test")),
        "{other_handle:#?}"
    );
    let other_pds = agreement(
        &doc,
        &did,
        &Handle::parse("alice.test").unwrap(),
        Some("https://pds.elsewhere.test"),
    );
    assert!(
        other_pds
            .findings
            .iter()
            .any(|f| f.level == Level::Fail && f.what.contains("not https://pds.elsewhere.test")),
        "{other_pds:#?}"
    );

    // An unknown DID is a 404 from the directory.
    let e = fetch(
        &Did::parse("did:plc:unknownunknownunknown").unwrap(),
        &lab.plc_url,
        &opts(),
    )
    .await
    .unwrap_err();
    assert!(e.what.contains("no such DID"), "{e:#?}");
}

#[tokio::test]
async fn a_pds_that_is_down_is_explained() {
    let port = common::free_dual_port();
    let e = list_accounts(
        &format!("http://127.0.0.1:{port}"),
        &Secret::new("x"),
        &opts(),
    )
    .await
    .unwrap_err();
    assert!(
        e.what.contains("cannot reach the PDS") && e.fix.contains("systemctl status pds"),
        "{e:#?}"
    );
}
