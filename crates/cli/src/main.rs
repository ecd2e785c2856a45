//! The `promptkit` command-line tool.
fn main() {
    eprintln!("promptkit: no commands yet");
    std::process::exit(2);
}
