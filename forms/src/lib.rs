//! E-forms for motcua: form schemas drawn in the form-js editor (Camunda Forms JSON),
//! validation that reports every failing field at once with its path and a Vietnamese message,
//! accessible HTML rendering, and the printed slips of Circular 01/2018/TT-VPCP.
//!
//! This crate is pure apart from reading template overrides from a folder: it knows nothing of
//! BPMN, the database, HTTP or signing. Expressions (`conditional.hide`, computed fields) are
//! motcua's FEEL subset from `motcua-expr`.
//!
//! - [`schema`]: the form-js JSON schema, parsed and checked (errors name the component path).
//! - [`validate`]: a submission checked against a schema: hidden fields dropped, computed
//!   fields set, every error at once.
//! - [`validators`]: the Vietnamese named validators (citizen ID, phone, tax code, date).
//! - [`render`]: a form as accessible HTML with values and errors kept.
//! - [`slips`]: the six forms of Circular 01/2018 as print-ready HTML with a QR code.
//! - [`templates`]: the minijinja templates, built in and overridable from a folder.
#![deny(missing_docs)]

pub mod render;
pub mod schema;
pub mod slips;
pub mod templates;
pub mod validate;
pub mod validators;
