//! An empty Tauri v2 app: the baseline Rounds' startup time and memory are compared against.
//! It reports first paint exactly as Rounds does (the page calls `ready` after two frames).

use std::time::{SystemTime, UNIX_EPOCH};

#[tauri::command]
fn ready() {
    if std::env::var_os("ROUNDS_REPORT_STARTUP").is_some() {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        println!("READY {ms}");
    }
}

fn main() {
    if let Err(e) = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ready])
        .run(tauri::generate_context!())
    {
        eprintln!("empty app failed: {e}");
    }
}
