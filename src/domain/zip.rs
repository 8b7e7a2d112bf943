//! Zip archives of stored (uncompressed) files, written byte for byte the same for the
//! same files: a fixed timestamp and the order given. Lambda takes such a zip as a
//! function's code; the format is simple enough not to need a zip library for that.

/// 1980-01-01 00:00 in MS-DOS form (date, time): the zip format's earliest.
const DOS_DATE: u16 = 0x21;
const DOS_TIME: u16 = 0;
/// Version 2.0 of the format, written by a Unix host so that the permissions below hold.
const VERSION: u16 = 20;
const MADE_BY_UNIX: u16 = 3 << 8 | VERSION;
/// A regular file, `rw-r--r--`: Lambda needs the code readable by its runtime user.
const UNIX_FILE_MODE: u32 = 0o100_644 << 16;

/// The archive of `files` (name, contents), in that order. Panics past the classic
/// format's limits (4 GiB, 65,535 entries): nothing fedgate zips comes near them.
pub fn stored_zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = Vec::new();
    let mut directory = Vec::new();
    for (name, data) in files {
        let offset = u32::try_from(zip.len()).expect("a zip under 4 GiB");
        let size = u32::try_from(data.len()).expect("a file under 4 GiB");
        let name_len = u16::try_from(name.len()).expect("a short file name");
        // The fields local and central headers share: version needed, flags, method
        // (stored), time, date, CRC-32, sizes, name length, extra field length.
        let common = |out: &mut Vec<u8>| {
            for v in [VERSION, 0, 0, DOS_TIME, DOS_DATE] {
                out.extend(v.to_le_bytes());
            }
            for v in [crc32fast::hash(data), size, size] {
                out.extend(v.to_le_bytes());
            }
            out.extend(name_len.to_le_bytes());
            out.extend(0u16.to_le_bytes());
        };
        zip.extend(0x0403_4b50u32.to_le_bytes());
        common(&mut zip);
        zip.extend(name.as_bytes());
        zip.extend(*data);

        directory.extend(0x0201_4b50u32.to_le_bytes());
        directory.extend(MADE_BY_UNIX.to_le_bytes());
        common(&mut directory);
        for v in [0u16, 0, 0] {
            directory.extend(v.to_le_bytes()); // comment length, disk, internal attributes
        }
        directory.extend(UNIX_FILE_MODE.to_le_bytes());
        directory.extend(offset.to_le_bytes());
        directory.extend(name.as_bytes());
    }
    let directory_at = u32::try_from(zip.len()).expect("a zip under 4 GiB");
    let directory_size = u32::try_from(directory.len()).expect("a zip under 4 GiB");
    let count = u16::try_from(files.len()).expect("under 65,535 files");
    zip.extend(directory);
    zip.extend(0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, count, count] {
        zip.extend(v.to_le_bytes()); // this disk, the directory's disk, entries here, in all
    }
    zip.extend(directory_size.to_le_bytes());
    zip.extend(directory_at.to_le_bytes());
    zip.extend(0u16.to_le_bytes()); // comment length
    zip
}

/// Reads back what [`stored_zip`] writes (stored entries only), checking every header
/// and CRC against the central directory: an independent view of the archive, for the
/// tests and the in-memory gateway.
pub fn read_stored_zip(zip: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let u16_at = |at: usize| -> Result<u16, String> {
        let bytes = zip.get(at..at + 2).ok_or("truncated")?;
        Ok(u16::from_le_bytes(bytes.try_into().expect("2 bytes")))
    };
    let u32_at = |at: usize| -> Result<u32, String> {
        let bytes = zip.get(at..at + 4).ok_or("truncated")?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    };
    let end = zip.len().checked_sub(22).ok_or("no end record")?;
    if u32_at(end)? != 0x0605_4b50 || u16_at(end + 20)? != 0 {
        return Err("no end record at the end".into());
    }
    let count = u16_at(end + 10)?;
    let mut at = u32_at(end + 16)? as usize;
    if at + u32_at(end + 12)? as usize != end {
        return Err("the directory does not end where the end record starts".into());
    }
    let mut files = Vec::new();
    for _ in 0..count {
        if u32_at(at)? != 0x0201_4b50 || u16_at(at + 10)? != 0 {
            return Err(format!("no stored central entry at {at}"));
        }
        let (crc, size) = (u32_at(at + 16)?, u32_at(at + 20)? as usize);
        let name_len = u16_at(at + 28)? as usize;
        let extra = u16_at(at + 30)? as usize + u16_at(at + 32)? as usize;
        let local = u32_at(at + 42)? as usize;
        let name = zip.get(at + 46..at + 46 + name_len).ok_or("truncated")?;
        if u32_at(local)? != 0x0403_4b50
            || zip.get(local + 14..local + 26) != zip.get(at + 16..at + 28)
            || zip.get(local + 30..local + 30 + name_len) != Some(name)
        {
            return Err(format!("the local header at {local} disagrees"));
        }
        let data_at = local + 30 + name_len + u16_at(local + 28)? as usize;
        let data = zip.get(data_at..data_at + size).ok_or("truncated")?;
        if crc32fast::hash(data) != crc {
            return Err("bad CRC".into());
        }
        files.push((String::from_utf8_lossy(name).into_owned(), data.to_vec()));
        at += 46 + name_len + extra;
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_empty_archive_is_just_the_end_record() {
        let zip = stored_zip(&[]);
        assert_eq!(zip.len(), 22);
        assert_eq!(read_stored_zip(&zip), Ok(vec![]));
    }

    proptest! {
        #[test]
        fn files_read_back_as_written(
            files in prop::collection::vec(("[a-z][a-z0-9_./-]{0,20}", prop::collection::vec(any::<u8>(), 0..300)), 0..5)
        ) {
            let refs: Vec<(&str, &[u8])> =
                files.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
            let zip = stored_zip(&refs);
            prop_assert_eq!(&zip, &stored_zip(&refs));
            prop_assert_eq!(read_stored_zip(&zip), Ok(files));
        }
    }
}
