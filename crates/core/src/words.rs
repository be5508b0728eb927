//! How counts are said in reports, the window and the command line: "1
//! error", "2 errors", never "1 errors".

/// "1 track", "2 tracks": a count with its noun, singular or plural.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(super::counted(1, "error", "errors"), "1 error");
        assert_eq!(super::counted(0, "error", "errors"), "0 errors");
        assert_eq!(super::counted(2, "file", "files"), "2 files");
    }
}
