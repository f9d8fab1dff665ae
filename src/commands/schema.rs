//! `xsell schema`: the JSON Schema of campaign files, for editors.

use crate::campaign::raw::RawCampaign;
use crate::error::Result;

pub fn run() -> Result<i32> {
    let schema = schemars::schema_for!(RawCampaign);
    super::print_json(&schema)?;
    Ok(0)
}
