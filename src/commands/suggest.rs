//! "Did you mean": the closest name to one that does not exist, for job names given to `run`,
//! `explain` and `logs`.

/// The candidate closest to `name`, when it is close enough to be a likely typo (an edit
/// distance of at most a third of the name, at least 2), or when the names differ only in case.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| {
            let d = if c.eq_ignore_ascii_case(name) {
                0
            } else {
                distance(name, c)
            };
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// ` (did you mean `NAME`?)` or nothing.
pub fn hint<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_finds_the_job_and_a_stranger_finds_nothing() {
        let jobs = ["build_x86_64", "build_arm64", "unit:lib", "tezt 1/3"];
        assert_eq!(closest("build_x86", jobs), Some("build_x86_64"));
        assert_eq!(closest("biuld_arm64", jobs), Some("build_arm64"));
        assert_eq!(closest("UNIT:LIB", jobs), Some("unit:lib"));
        assert_eq!(closest("deploy", jobs), None);
        assert_eq!(hint("tezt 1/4", jobs), " (did you mean `tezt 1/3`?)");
        assert_eq!(hint("zzz", jobs), "");
    }
}
