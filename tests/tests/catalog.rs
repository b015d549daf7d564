//! The procedure catalog (`definitions/catalog/procedures.toml`, issue #10) against the files it
//! names, on a real SQLite file and a real PostgreSQL database: every procedure's BPMN deploys
//! with its forms through the engine (alone, then all together), the documents the catalog lists
//! are exactly the BPMN's `<motcua:document>` slots, its SLA and owning agency are the BPMN's,
//! and every form key the BPMN names is the id of one of the procedure's forms.

use motcua_engine::catalog::Catalog;
use motcua_engine::{DefinitionRef, Engine};
use motcua_tests::{Backend, TestDb};
use serde_json::Value;

fn catalog() -> Catalog {
    Catalog::shipped().unwrap_or_else(|e| panic!("the shipped catalog: {e}"))
}

#[test]
fn the_catalog_agrees_with_its_bpmn_files_and_forms() {
    let catalog = catalog();
    for p in catalog.procedures() {
        let xml = catalog.text(&p.bpmn).unwrap_or_default();
        let processes = motcua_definitions::load(&p.bpmn, xml.as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e:?}", p.bpmn));
        let model = processes
            .iter()
            .find(|m| m.key().as_str() == p.key)
            .unwrap_or_else(|| panic!("{} has no process '{}'", p.bpmn, p.key));
        let slots: Vec<(&str, &str, bool)> = model
            .documents()
            .iter()
            .map(|d| (d.slot.as_str(), d.name.as_str(), d.required))
            .collect();
        let listed: Vec<(&str, &str, bool)> = p
            .documents
            .iter()
            .map(|d| (d.slot.as_str(), d.name.as_str(), d.required))
            .collect();
        assert_eq!(listed, slots, "{}: documents differ from the BPMN", p.key);
        assert_eq!(
            p.sla_working_days,
            model.sla_working_days(),
            "{}: SLA",
            p.key
        );
        assert_eq!(p.agency.as_deref(), model.agency(), "{}: agency", p.key);
        assert_eq!(model.name(), Some(p.name.as_str()), "{}: name", p.key);
        let form_ids: Vec<String> = p
            .forms
            .iter()
            .map(|f| {
                let json: Value = serde_json::from_str(catalog.text(f).unwrap_or_default())
                    .unwrap_or_else(|e| panic!("{f}: {e}"));
                let id = json["id"].as_str().unwrap_or_default().to_owned();
                assert_eq!(
                    format!("{id}.form"),
                    *f,
                    "a form file is named after its id"
                );
                id
            })
            .collect();
        let mut keys: Vec<&str> = model.start_form().into_iter().collect();
        for n in model.nodes() {
            if let motcua_definitions::model::NodeKind::UserTask(u) = &n.kind {
                keys.extend(u.form_key.as_deref());
            }
        }
        for k in keys {
            assert!(
                form_ids.iter().any(|f| f == k),
                "{}: form key '{k}' is not among its forms",
                p.key
            );
        }
        for form in &p.forms {
            let used = model.start_form() == Some(form.trim_end_matches(".form"))
                || model.nodes().iter().any(|n| {
                    matches!(&n.kind, motcua_definitions::model::NodeKind::UserTask(u)
                        if u.form_key.as_deref() == Some(form.trim_end_matches(".form")))
                });
            assert!(used, "{}: form {form} is listed but not used", p.key);
        }
    }
}

async fn deploys_through_the_engine(backend: Backend) {
    let Some(db) = TestDb::new(backend, "catalog_deploys").await else {
        return;
    };
    let engine: Engine<_> = db.open().await;
    let catalog = catalog();
    for p in catalog.procedures() {
        let deployed = engine
            .deploy(&format!("catalog-{}", p.key), &catalog.files(p))
            .await
            .unwrap_or_else(|e| panic!("{} does not deploy: {e}", p.key));
        assert_eq!(deployed.len(), 1, "{}: one process per file", p.key);
        assert_eq!(deployed[0].definition.key, p.key);
        let model = engine
            .model(&DefinitionRef {
                key: p.key.clone(),
                version: deployed[0].definition.version,
            })
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", p.key));
        let slots: Vec<&str> = model.documents().iter().map(|d| d.slot.as_str()).collect();
        let listed: Vec<&str> = p.documents.iter().map(|d| d.slot.as_str()).collect();
        assert_eq!(slots, listed, "{}", p.key);
    }
    // All at once, as the demo deploys it: nothing new (identical content), nothing refused.
    let again = engine
        .deploy("catalog", &catalog.all_files())
        .await
        .unwrap_or_else(|e| panic!("the whole catalog does not deploy: {e}"));
    assert_eq!(again.len(), catalog.procedures().len());
    assert!(again
        .iter()
        .all(|d| !d.created && d.definition.version == 1));
}

motcua_tests::on_both_databases!(deploys_through_the_engine);
