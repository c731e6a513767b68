fn main() {
    // The UI is embedded at compile time: rebuild the shell whenever `npm run build` changed it,
    // or a fresh UI would silently not reach the binary.
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::build()
}
