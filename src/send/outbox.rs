//! The `outbox` transport: one `.eml` file per message in
//! `outbox/<campaign>/`, written to a temporary name and renamed, so a file
//! is either complete or absent.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::transport::Delivery;
use crate::error::{Error, Result};

pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(dir: &Path) -> Result<Outbox> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::usage(format!("cannot create the outbox {}: {e}", dir.display()))
        })?;
        Ok(Outbox {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `bytes` as `<dir>/<campaign>/<file_name>` atomically.
    pub fn write(&self, campaign: &str, file_name: &str, bytes: &[u8]) -> Delivery {
        let folder = self.dir.join(campaign);
        let result = (|| -> std::io::Result<()> {
            std::fs::create_dir_all(&folder)?;
            let final_path = folder.join(file_name);
            let temporary = folder.join(format!(".{file_name}.{}.tmp", std::process::id()));
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(bytes)?;
            file.sync_data()?;
            std::fs::rename(&temporary, &final_path)
        })();
        match result {
            Ok(()) => Delivery::Accepted,
            Err(error) => {
                Delivery::Transient(format!("cannot write to {}: {error}", folder.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(&dir.path().join("outbox")).unwrap();
        assert_eq!(
            outbox.write("spring", "C1_ab12.eml", b"Subject: hi\r\n\r\nbody"),
            Delivery::Accepted
        );
        let folder = dir.path().join("outbox/spring");
        let names: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["C1_ab12.eml"]);
        assert_eq!(
            std::fs::read(folder.join("C1_ab12.eml")).unwrap(),
            b"Subject: hi\r\n\r\nbody"
        );
    }
}
