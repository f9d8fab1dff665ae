//! Rendering: campaign + customer + lists + offer → subject, HTML, text, MIME.

pub mod templates;
