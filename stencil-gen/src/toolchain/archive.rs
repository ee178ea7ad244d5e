//! Just enough of the common `ar` archive format to give llvm-objdump many
//! objects on one stdin: a magic line, then for each member a 60-byte
//! header of fixed-width text fields and the data, padded to an even
//! length.

/// The start of every archive.
pub const MAGIC: &[u8] = b"!<arch>\n";

const HEADER_LEN: usize = 60;

/// The bytes of one member, to follow the magic line and earlier members.
/// `name` is at most 15 bytes and has no `/`, so it fits the header as is.
pub fn member(name: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + data.len() + 1);
    // Name (ended by `/`), modification time, owner, group, octal mode,
    // size, end of header.
    let header = format!(
        "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
        format!("{name}/"),
        0,
        0,
        0,
        644,
        data.len()
    );
    debug_assert_eq!(header.len(), HEADER_LEN, "{name}");
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    if data.len() % 2 == 1 {
        bytes.push(b'\n');
    }
    bytes
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::Command;

    use super::*;

    /// LLVM's own archiver, which reads archives the way llvm-objdump does.
    fn llvm_ar() -> Option<PathBuf> {
        ["/usr/lib/llvm-19/bin/llvm-ar", "/usr/bin/llvm-ar-19"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
    }

    #[test]
    fn llvm_ar_reads_back_every_member_and_its_bytes() {
        let Some(ar) = llvm_ar() else {
            eprintln!("skipped: no llvm-ar of LLVM 19");
            return;
        };
        let members: [(&str, &[u8]); 3] = [
            ("0.o", b"odd"),
            ("1.o", b"\x00\x01even\n"),
            ("123456789012.o", b""),
        ];
        let mut archive = MAGIC.to_vec();
        for (name, data) in members {
            let bytes = member(name, data);
            assert_eq!(bytes.len(), HEADER_LEN + data.len().next_multiple_of(2));
            archive.extend(bytes);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("objects.a");
        std::fs::write(&path, &archive).unwrap();
        let list = Command::new(&ar).arg("t").arg(&path).output().unwrap();
        assert!(list.status.success(), "{list:?}");
        assert_eq!(
            String::from_utf8_lossy(&list.stdout),
            "0.o\n1.o\n123456789012.o\n"
        );
        for (name, data) in members {
            let print = Command::new(&ar)
                .arg("p")
                .arg(&path)
                .arg(name)
                .output()
                .unwrap();
            assert!(print.status.success(), "{print:?}");
            assert_eq!(print.stdout, data, "{name}");
        }
    }
}
