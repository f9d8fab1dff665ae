//! `xsell schema`: the JSON Schema of campaign and placement files, for editors.

use crate::campaign::raw::RawCampaign;
use crate::cli::SchemaKind;
use crate::error::Result;
use crate::placement::RawPlacement;

pub fn run(kind: SchemaKind) -> Result<i32> {
    let schema = match kind {
        SchemaKind::Campaign => schemars::schema_for!(RawCampaign),
        SchemaKind::Placement => schemars::schema_for!(RawPlacement),
    };
    super::print_json(&schema)?;
    Ok(0)
}
