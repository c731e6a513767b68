//! The only Windows-only policy code: list every value below `Software\Policies\Rounds`.
//! Everything else (what the values mean, what is refused) is `registry.rs`, tested on Linux.
//! Not compiled on this project's Linux CI.

use super::registry::{Hive, POLICY_KEY, RegEntry, RegValue};
use winreg::enums::{KEY_READ, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ};
use winreg::types::FromRegValue;
use winreg::{HKCU, HKLM, RegKey};

pub(super) fn read(hive: Hive) -> Result<Vec<RegEntry>, String> {
    let root = match hive {
        Hive::Machine => HKLM,
        Hive::User => HKCU,
    };
    let mut out = Vec::new();
    match root.open_subkey_with_flags(POLICY_KEY, KEY_READ) {
        Ok(key) => walk(&key, POLICY_KEY, 0, &mut out).map_err(|e| e.to_string())?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.to_string()),
    }
    Ok(out)
}

/// Subkeys too, so a value in a place the ADMX never writes is seen (and rejected), not missed.
fn walk(key: &RegKey, path: &str, depth: u8, out: &mut Vec<RegEntry>) -> std::io::Result<()> {
    for item in key.enum_values() {
        let (name, raw) = item?;
        let value = match raw.vtype {
            REG_SZ => RegValue::Sz(String::from_reg_value(&raw)?),
            REG_EXPAND_SZ => RegValue::ExpandSz(String::from_reg_value(&raw)?),
            REG_MULTI_SZ => RegValue::MultiSz(Vec::<String>::from_reg_value(&raw)?),
            REG_DWORD => RegValue::Dword(u32::from_reg_value(&raw)?),
            REG_QWORD => RegValue::Qword(u64::from_reg_value(&raw)?),
            ref other => RegValue::Other(format!("{other:?}")),
        };
        out.push(RegEntry::new(path, &name, value));
    }
    if depth < 4 {
        for sub in key.enum_keys() {
            let sub = sub?;
            let child = key.open_subkey_with_flags(&sub, KEY_READ)?;
            walk(&child, &format!(r"{path}\{sub}"), depth + 1, out)?;
        }
    }
    Ok(())
}
