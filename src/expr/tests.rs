//! Expected values come from GitLab's documentation ("CI/CD variable expressions" in
//! `doc/ci/jobs/job_rules.md`, cited as *docs*) or from GitLab's own specs under
//! `spec/lib/gitlab/ci/pipeline/expression/` (cited as *spec*), which state what the
//! implementation returns.

use super::*;

/// A lookup over fixed pairs; names not listed are undefined.
fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_string())
    }
}

fn eval(src: &str, pairs: &[(&str, &str)]) -> bool {
    let expr = parse(src).unwrap_or_else(|err| panic!("{err}"));
    expr.eval(&vars(pairs))
        .unwrap_or_else(|err| panic!("{err}"))
}

/// The Ruby value GitLab's `Statement#evaluate` would return, before `present?`.
fn value(src: &str, pairs: &[(&str, &str)]) -> Value {
    let expr = parse(src).unwrap_or_else(|err| panic!("{err}"));
    expr.evaluate(&expr.root, &vars(pairs)).unwrap()
}

fn parse_err(src: &str) -> ExprError {
    match parse(src) {
        Ok(expr) => panic!("`{src}` parsed as `{expr}`"),
        Err(err) => err,
    }
}

fn str_value(text: &str) -> Value {
    Value::Str(text.to_string())
}

/// The tree without operator columns, to compare structures parsed from different texts.
fn shape(node: &Node) -> Node {
    match node {
        Node::Binary { op, lhs, rhs, .. } => Node::Binary {
            op: *op,
            column: 0,
            lhs: Box::new(shape(lhs)),
            rhs: Box::new(shape(rhs)),
        },
        leaf => leaf.clone(),
    }
}

/// The variables of GitLab's `statement_spec.rb`.
const SPEC_VARS: &[(&str, &str)] = &[
    ("PRESENT_VARIABLE", "my variable"),
    ("PATH_VARIABLE", "a/path/variable/value"),
    ("FULL_PATH_VARIABLE", "/a/full/path/variable/value"),
    ("EMPTY_VARIABLE", ""),
];

#[test]
fn statement_spec_truthiness() {
    // spec statement_spec.rb, `#evaluate` table; the boolean is `present?` of the value it
    // lists (`nil`, `''` and `false` are not present; match positions and non-blank strings are).
    let table: &[(&str, bool)] = &[
        (r#"$PRESENT_VARIABLE == "my variable""#, true),
        (r#""my variable" == $PRESENT_VARIABLE"#, true),
        ("$PRESENT_VARIABLE == 'my variable'", true),
        ("$PRESENT_VARIABLE == null", false),
        ("$EMPTY_VARIABLE == null", false),
        (r#""" == $EMPTY_VARIABLE"#, true),
        ("$EMPTY_VARIABLE", false),
        ("$UNDEFINED_VARIABLE == null", true),
        ("null == $UNDEFINED_VARIABLE", true),
        ("$PRESENT_VARIABLE", true),
        ("$UNDEFINED_VARIABLE", false),
        ("$PRESENT_VARIABLE =~ /var.*e$/", true),
        (r"$PRESENT_VARIABLE =~ /va\r.*e$/", false),
        (r"$PRESENT_VARIABLE =~ /va\/r.*e$/", false),
        ("$PRESENT_VARIABLE =~ /^var.*/", false),
        ("$EMPTY_VARIABLE =~ /var.*/", false),
        ("$UNDEFINED_VARIABLE =~ /var.*/", false),
        ("$PRESENT_VARIABLE =~ /VAR.*/i", true),
        (r"$PATH_VARIABLE =~ /path\/variable/", true),
        (
            r"$FULL_PATH_VARIABLE =~ /^\/a\/full\/path\/variable\/value$/",
            true,
        ),
        // Written `/\\/path…/` inside a single-quoted Ruby string, i.e. `\/` here.
        (r"$FULL_PATH_VARIABLE =~ /\/path\/variable\/value$/", true),
        (r#"$PRESENT_VARIABLE != "my variable""#, false),
        (r#""my variable" != $PRESENT_VARIABLE"#, false),
        ("$PRESENT_VARIABLE != null", true),
        ("$EMPTY_VARIABLE != null", true),
        (r#""" != $EMPTY_VARIABLE"#, false),
        ("$UNDEFINED_VARIABLE != null", false),
        ("null != $UNDEFINED_VARIABLE", false),
        ("$PRESENT_VARIABLE !~ /var.*e$/", false),
        ("$PRESENT_VARIABLE !~ /^var.*/", true),
        (r"$PRESENT_VARIABLE !~ /^v\ar.*/", true),
        (r"$PRESENT_VARIABLE !~ /^v\/ar.*/", true),
        ("$EMPTY_VARIABLE !~ /var.*/", true),
        ("$UNDEFINED_VARIABLE !~ /var.*/", true),
        ("$PRESENT_VARIABLE !~ /VAR.*/i", false),
        (
            "$PRESENT_VARIABLE =~ /my var/ && $EMPTY_VARIABLE =~ /nope/",
            false,
        ),
        (
            r#"$EMPTY_VARIABLE == "" && $PRESENT_VARIABLE != "nope""#,
            true,
        ),
        (
            "$PRESENT_VARIABLE =~ /my var/ || $EMPTY_VARIABLE =~ /nope/",
            true,
        ),
        (
            r#"$PRESENT_VARIABLE && null || $EMPTY_VARIABLE == """#,
            true,
        ),
        ("$UNDEFINED_VARIABLE == null || $PRESENT_VARIABLE", true),
        (
            r#"(($PRESENT_VARIABLE && null) || $EMPTY_VARIABLE == "")"#,
            true,
        ),
        (r#"("string" || "test") == "string""#, true),
        (r#"(null || ("test" == "string"))"#, false),
        (r#"("string" == ("test" && "string"))"#, true),
        (r#"("string" == ("test" || "string"))"#, false),
        (
            r#"("string" == ("string" || (("1" == "1") && ("2" == "3"))))"#,
            true,
        ),
    ];
    for (src, expected) in table {
        assert_eq!(eval(src, SPEC_VARS), *expected, "{src}");
    }
}

#[test]
fn and_or_yield_ruby_operands() {
    // spec statement_spec.rb: `&&`/`||` give exactly what Ruby's `eval` gives, i.e. an
    // operand, with `""` truthy. So `$EMPTY && $PRESENT` is "my variable" (true), and
    // `$PRESENT && $EMPTY` is "" (false).
    let table: &[(&str, Value)] = &[
        (r#"$PRESENT_VARIABLE && "string""#, str_value("string")),
        ("$PRESENT_VARIABLE && $EMPTY_VARIABLE", str_value("")),
        ("$PRESENT_VARIABLE && null", Value::Nil),
        (
            "$EMPTY_VARIABLE && $PRESENT_VARIABLE",
            str_value("my variable"),
        ),
        ("null && $PRESENT_VARIABLE", Value::Nil),
        (r#""string" && $EMPTY_VARIABLE"#, str_value("")),
        ("$UNDEFINED_VARIABLE && $EMPTY_VARIABLE", Value::Nil),
        (
            "$PRESENT_VARIABLE || $UNDEFINED_VARIABLE",
            str_value("my variable"),
        ),
        (
            "$UNDEFINED_VARIABLE || $PRESENT_VARIABLE",
            str_value("my variable"),
        ),
        (
            "$PRESENT_VARIABLE || $UNDEFINED_VARIABLE == null",
            str_value("my variable"),
        ),
        (r#"("string" == "test" || "string")"#, str_value("string")),
    ];
    for (src, expected) in table {
        assert_eq!(&value(src, SPEC_VARS), expected, "{src}");
    }
    // The gotcha that follows: an empty-but-defined variable short-circuits `||`, so the
    // comparison after it is never looked at and the result is "" (not present).
    assert!(!eval(
        r#"$EMPTY_VARIABLE || $PRESENT_VARIABLE == "my variable""#,
        SPEC_VARS
    ));
    // Short-circuiting also skips what would fail: `null && …` never evaluates the regex side.
    assert!(!eval(r#"null && /ab/ == "x""#, &[]));
}

#[test]
fn lone_operands() {
    // docs: "You can check if a variable is both defined and not empty by using just the
    // variable name". GitLab tests `present?`, so whitespace-only counts as empty.
    assert!(eval("$V", &[("V", "x")]));
    assert!(!eval("$V", &[("V", "")]));
    assert!(!eval("$V", &[("V", " \t\n")]));
    assert!(!eval("$V", &[]));
    // A string, `true`/`false`, `null` and a regex can stand alone too (spec: `"string" && "string"`
    // is "string"; a regex object is present).
    assert!(eval(r#""text""#, &[]));
    assert!(!eval("''", &[]));
    assert!(eval("true", &[]));
    assert!(!eval("false", &[]));
    assert!(!eval("null", &[]));
    assert!(eval("/ab/", &[]));
}

#[test]
fn null_and_empty() {
    // docs: compare to `null` to see whether a variable is defined, to `""` whether it is
    // defined but empty. An undefined variable is nil, which is not "".
    assert!(eval("$EMPTY != null", &[("EMPTY", "")]));
    assert!(!eval("$EMPTY == null", &[("EMPTY", "")]));
    assert!(eval(r#"$EMPTY == """#, &[("EMPTY", "")]));
    assert!(!eval(r#"$UNDEF == """#, &[]));
    assert!(eval(r#"$UNDEF != """#, &[]));
    assert!(eval("null == null", &[]));
}

#[test]
fn matching_undefined_and_empty_sides() {
    // spec: an undefined left side never matches `/var.*/` (`=~` false, `!~` true). GitLab
    // matches `nil.to_s`, i.e. "", so a pattern that matches "" does match.
    assert!(!eval("$UNDEF =~ /xy/", &[]));
    assert!(eval("$UNDEF !~ /xy/", &[]));
    assert!(eval("$UNDEF =~ /^$/", &[]));
    // Matches#evaluate: `return false unless regexp`; NotMatches: `return true unless regexp`.
    assert!(!eval("$A =~ $UNDEF", &[("A", "x")]));
    assert!(eval("$A !~ $UNDEF", &[("A", "x")]));
    assert!(!eval("$A =~ null", &[("A", "x")]));
}

#[test]
fn regex_search_is_unanchored() {
    // docs: "just `/issue/` would also match a branch called `severe-issues`".
    assert!(eval("$B =~ /issue/", &[("B", "severe-issues")]));
    assert!(!eval("$B =~ /^issue-/", &[("B", "severe-issues")]));
    assert!(eval("$B =~ /^issue-.*$/", &[("B", "issue-12")]));
    // docs: "Pattern matching is case-sensitive by default. Use the `i` flag modifier".
    assert!(!eval("$B =~ /ISSUE/", &[("B", "issue")]));
    assert!(eval("$B =~ /ISSUE/i", &[("B", "issue")]));
}

#[test]
fn regex_flags_are_re2_flags() {
    // GitLab prepends the flags as `(?flags)` to an RE2 pattern (RubySyntax), so `m` is RE2's
    // multi-line mode and `s` lets `.` match a newline.
    let text = [("T", "first\nsecond")];
    assert!(!eval("$T =~ /^second$/", &text));
    assert!(eval("$T =~ /^second$/m", &text));
    assert!(!eval("$T =~ /first.second/", &text));
    assert!(eval("$T =~ /first.second/s", &text));
    assert!(eval("$T =~ /FIRST.SECOND/si", &text));
    // spec pattern_spec.rb: `/pattern/im` becomes `(?im)pattern`; `U` is accepted too, and
    // a repeated flag is passed on to RE2, which accepts it.
    assert!(eval("$T =~ /^s.+d$/mU", &text));
    assert!(eval("$T =~ /FIRST/ii", &text));
    // spec: "ignores unsupported flags": `x` is not part of the literal, so here it is a
    // stray token.
    assert_eq!(parse_err("$T =~ /first/x").column, 14);
}

#[test]
fn regex_literal_lexing() {
    // spec pattern_spec.rb: "does not allow to use an empty pattern"; docs: "Single-character
    // regular expressions, like `/./`, are not supported".
    assert!(parse_err("$A =~ //").message.contains("one-character"));
    let err = parse_err("$A =~ /./");
    assert_eq!(
        (err.column, err.message.contains("one-character")),
        (7, true)
    );
    // spec: `\/` is an escaped slash, "recognizes \ as an escape character for /".
    assert!(eval(
        r"$A =~ /some .* \/ pattern/",
        &[("A", "some x / pattern")]
    ));
    assert!(eval(r"$A =~ /^a\/b$/", &[("A", "a/b")]));
    // spec: "does not recognize \ as an escape character for $": `\$` stays an RE2 escape.
    assert!(eval(r"$A =~ /cost \$5/", &[("A", "cost $5")]));
    // spec: "is an eager scanner for regexp boundaries": the first unescaped slash closes.
    let err = parse_err("$A =~ /some .* / pattern/");
    assert_eq!(err.column, 18);
    // GitLab's lexeme reads `//` as "the pattern ends with a slash".
    assert!(eval("$A =~ /ab//", &[("A", "xab/")]));
    assert!(!eval("$A =~ /ab//", &[("A", "xab")]));
    assert!(parse_err("$A =~ /abc").message.contains("unterminated"));
    assert!(parse_err(r"$A =~ /abc\/").message.contains("unterminated"));
}

#[test]
fn invalid_regex_literals_are_parse_errors() {
    // A literal that RE2 rejects is "Invalid regular expression!" when GitLab builds the
    // lexeme, i.e. an invalid expression. RE2 has no look-around (job_control.md: "some
    // features, like negative lookaheads, became unavailable").
    let err = parse_err("$A =~ /^(?!master$)./");
    assert_eq!(err.column, 7);
    assert!(
        err.message.starts_with("invalid regular expression"),
        "{err}"
    );
    assert_eq!(parse_err("$A =~ /(ab/").column, 7);
    assert!(
        parse_err("$A =~ /a{1001}/")
            .message
            .contains("bad repetition")
    );
    assert!(parse_err("$A =~ /(?x)a b/").message.contains("unsupported"));
}

#[test]
fn re2_dialect() {
    // RE2's `\d`, `\w`, `\s` and `\b` are ASCII (github.com/google/re2/wiki/Syntax: "\d
    // digits (≡ [0-9])"); the regex crate's are Unicode.
    assert!(eval(r"$A =~ /^\d+$/", &[("A", "2024")]));
    assert!(!eval(r"$A =~ /^\d$/", &[("A", "٣")]));
    assert!(!eval(r"$A =~ /^\w$/", &[("A", "é")]));
    assert!(!eval(r"$A =~ /^\s$/", &[("A", "\u{A0}")]));
    assert!(eval(r"$A =~ /^[\d.]+$/", &[("A", "1.2")]));
    assert!(!eval(r"$A =~ /^[\d.]+$/", &[("A", "1.٣")]));
    assert!(eval(r"$A =~ /^[^\D]$/", &[("A", "7")]));
    assert!(eval(r"$A =~ /\bfix\b/", &[("A", "a fix.")]));
    assert!(!eval(r"$A =~ /\bfix\b/", &[("A", "prefix")]));
    // RE2 reads a `{` that starts no repetition literally; `{n,m}` still repeats.
    assert!(eval("$A =~ /^v{major}$/", &[("A", "v{major}")]));
    assert!(eval(
        "$A =~ /^v[0-9]{1,3}-release$/",
        &[("A", "v12-release")]
    ));
    assert!(!eval(
        "$A =~ /^v[0-9]{1,3}-release$/",
        &[("A", "v1234-release")]
    ));
    // Inside a class RE2 takes `[`, `&&` and `~~` literally.
    assert!(eval("$A =~ /^[[]$/", &[("A", "[")]));
    assert!(eval("$A =~ /^[a&&b]+$/", &[("A", "a&b")]));
    assert!(eval("$A =~ /^[]a]+$/", &[("A", "]a")]));
    assert!(eval("$A =~ /^[[:digit:]-]+$/", &[("A", "1-2")]));
    // `\Q…\E` quotes, octal escapes, and `\<` is a plain `<` in RE2.
    assert!(eval(r"$A =~ /^\Q.*\E$/", &[("A", ".*")]));
    assert!(!eval(r"$A =~ /^\Q.*\E$/", &[("A", "ab")]));
    assert!(eval(r"$A =~ /^\101$/", &[("A", "A")]));
    assert!(eval(r"$A =~ /\<b\>/", &[("A", "a<b>")]));
    // `\A`/`\z` anchor in both engines (used by Octez for version tags).
    assert!(eval(r"$A =~ /\A\d+\.\d+\.\d+\z/", &[("A", "1.2.3")]));
    // Later flag settings win, as in RE2.
    assert!(!eval("$A =~ /(?i-i)abc/", &[("A", "ABC")]));
}

#[test]
fn regex_held_in_a_variable() {
    // docs "Store a regular expression in a variable": 'abcde' matches a `pattern`
    // variable holding '/^ab.*/', 'fghij' does not.
    assert!(eval(
        "$teststring =~ $pattern",
        &[("teststring", "abcde"), ("pattern", "/^ab.*/")]
    ));
    assert!(!eval(
        "$teststring =~ $pattern",
        &[("teststring", "fghij"), ("pattern", "/^ab.*/")]
    ));
    // Flags and `\/` work as in literals (Pattern.build_and_evaluate builds a Pattern lexeme).
    let pattern = [("P", r"/^V\d+\/x$/i"), ("A", "v12/X")];
    assert!(eval("$A =~ $P", &pattern));
    assert!(!eval("$A !~ $P", &pattern));
    // A variable can hold the one-character pattern its literal form cannot (RubySyntax only
    // needs `/…/`).
    assert!(eval("$A =~ $P", &[("A", "abc"), ("P", "/b/")]));
    // docs: "Variables in a regular expression are not resolved".
    let jobs = [
        ("CI_JOB_NAME", "regex-job1"),
        ("string1", "regex-job1"),
        ("pattern", "/$string2/"),
        ("string2", "regex-job1"),
    ];
    assert!(!eval("$CI_JOB_NAME =~ /$string1/", &jobs));
    assert!(!eval("$CI_JOB_NAME =~ $pattern", &jobs));
}

#[test]
fn non_regex_right_side_is_a_substring_test() {
    // docs "Unexpected behavior from regular expression matching with `=~`": when the right
    // side is not a valid `/…/` regex, "the comparison checks if the left side is a
    // substring of the right side. For example, `"23" =~ "1234"` evaluates to true, which is
    // the opposite of `"23" =~ /1234/`".
    assert!(eval(r#""23" =~ "1234""#, &[]));
    assert!(!eval(r#""23" =~ /1234/"#, &[]));
    assert!(!eval(r#""1234" =~ "23""#, &[]));
    assert!(eval(r#""1234" !~ "23""#, &[]));
    // A quoted `/…/` is a regex, like a variable holding one.
    assert!(eval(r#""1234" =~ "/23/""#, &[]));
    // gitlab-org/gitlab#426313 measured `$LEFT =~ $RIGHT` on GitLab.com for the values 1234,
    // 23 and /23/: rows are LEFT, columns RIGHT.
    let values = ["1234", "23", "/23/"];
    let observed = [
        [true, false, true],
        [true, true, true],
        [false, false, true],
    ];
    for (left, row) in values.iter().zip(observed) {
        for (right, expected) in values.iter().zip(row) {
            let pairs = [("LEFT", *left), ("RIGHT", *right)];
            assert_eq!(
                eval("$LEFT =~ $RIGHT", &pairs),
                expected,
                "{left} =~ {right}"
            );
        }
    }
    // A variable holding a broken regex is not an error: GitLab falls back to the substring
    // test with the variable's text (Pattern.build_and_evaluate rescues the syntax error).
    assert!(eval("$A =~ $P", &[("A", "(ab"), ("P", "/(ab/")]));
    assert!(!eval("$A =~ $P", &[("A", "ab"), ("P", "/(?!x)/")]));
    // `"abc".scan("")` is not empty, so an undefined left side is a substring of anything.
    assert!(eval("$UNDEF =~ $P", &[("P", "abc")]));
}

#[test]
fn strings_are_not_expanded() {
    // GitLab's String lexeme evaluates to its text as written (`@value.to_s`), and there is
    // no escape syntax: the first matching quote ends the string.
    assert!(!eval(r#"$A == "$B""#, &[("A", "x"), ("B", "x")]));
    assert!(eval(r#"$A == "$B""#, &[("A", "$B")]));
    assert!(eval(r#"$A == 'say "hi"'"#, &[("A", r#"say "hi""#)]));
    assert!(eval(r#"$A == "it's""#, &[("A", "it's")]));
    assert!(eval(r#"$A == "a\b""#, &[("A", r"a\b")]));
    // `"a\"b"` is the string `a\` followed by a stray `b"`.
    assert_eq!(parse_err(r#"$A == "a\"b""#).column, 11);
}

#[test]
fn variable_syntax() {
    // GitLab's Variable lexeme is `\$(?<name>\w+)`: no braces, names may start with a digit.
    let err = parse_err("${CI_COMMIT_TAG} == null");
    assert_eq!(err.column, 1);
    assert!(err.message.contains("$NAME"), "{err}");
    assert!(eval("$1ST == 'x'", &[("1ST", "x")]));
    assert_eq!(parse_err("$ == null").column, 1);
    assert!(
        parse_err("$[[ inputs.x ]] == 'a'")
            .message
            .contains("interpolation")
    );
    // `null` needs no word boundary in GitLab's lexer: `nullx` is `null` then `x`.
    assert_eq!(parse_err("$A == nullx").column, 11);
    // Booleans do: `$A == trueish` is an error at `trueish`.
    assert_eq!(parse_err("$A == trueish").column, 7);
}

#[test]
fn syntax_errors_have_columns() {
    // spec statement_spec.rb lists these as invalid: '$VAR "text"', '== "123"',
    // '"some string"' (only in old versions), '$VAR ==', '12345' and ''.
    let err = parse_err(r#"$VAR "text""#);
    assert_eq!(
        (err.column, err.message.as_str()),
        (6, "missing operator before a string")
    );
    let err = parse_err(r#"== "123""#);
    assert_eq!(
        (err.column, err.message.as_str()),
        (1, "missing operand before `==`")
    );
    let err = parse_err("$VAR ==");
    assert_eq!(
        (err.column, err.message.as_str()),
        (8, "missing operand after `==`")
    );
    assert_eq!(parse_err("12345").column, 1);
    assert_eq!(parse_err("").message, "empty expression");
    assert_eq!(parse_err("  \t ").message, "empty expression");
    // Unbalanced parentheses.
    let err = parse_err("($A == 'x'");
    assert_eq!((err.column, err.message.as_str()), (1, "unclosed `(`"));
    let err = parse_err("$A == 'x')");
    assert_eq!((err.column, err.message.as_str()), (10, "unmatched `)`"));
    assert_eq!(parse_err("()").message, "missing operand before `)`");
    assert_eq!(parse_err("($A)($B)").column, 5);
    // Unterminated literals point at their opening character; columns count characters.
    let err = parse_err("$É == 'x'");
    assert_eq!(err.column, 1);
    let err = parse_err("$A == 'é' && $B == \"oops");
    assert_eq!(
        (err.column, err.message.as_str()),
        (20, "unterminated string literal")
    );
    assert_eq!(parse_err("$A == 'x\ny'").column, 7);
    // Single characters that only exist as part of operators.
    assert!(parse_err("$A = 'x'").message.contains("`==`"));
    assert!(parse_err("!$A").message.contains("no negation"));
    assert_eq!(parse_err("$A & $B").column, 4);
    assert_eq!(parse_err("$A | $B").column, 4);
    // The Display of an error names the place.
    assert_eq!(
        parse_err("$A ==").to_string(),
        "missing operand after `==` at column 6 of `$A ==`"
    );
}

#[test]
fn shunting_yard_accidents_are_rejected() {
    // GitLab's shunting-yard parser does not check operator positions, so it happens to
    // accept `$A (== $B)` as `$A == $B`; nobody writes that on purpose, and a clear error
    // is more useful than reproducing the accident.
    assert_eq!(parse_err("$A (== $B)").column, 4);
    assert_eq!(parse_err("== $A $B").column, 1);
}

#[test]
fn token_limit() {
    // GitLab's lexer: 99 tokens pass, the 100th raises "Too many tokens!".
    let ok = vec!["$A"; 50].join(" || ");
    assert_eq!(lex(&ok).unwrap().len(), 99);
    assert!(parse(&ok).is_ok());
    let too_long = format!("{ok} || $A");
    let err = parse_err(&too_long);
    assert!(err.message.contains("too many tokens"), "{err}");
    assert_eq!(err.column, ok.len() + 2);
}

#[test]
fn precedence_and_associativity() {
    // docs: "`&&` evaluates before `||`"; parentheses group first.
    let only_a = [("A", "x")];
    assert!(eval("$A || $B && $C", &only_a));
    assert!(!eval("($A || $B) && $C", &only_a));
    assert!(eval("$C && $B || $A", &only_a));
    // Comparisons bind tighter than both.
    assert!(eval(r#"$A == "x" && $B == null"#, &only_a));
    // All comparisons share one level and associate left: `("a" == "a") == "a"` is
    // `true == "a"`, which is false.
    assert!(!eval(r#""a" == "a" == "a""#, &[]));
    assert!(eval(r#""a" == "a" != "a""#, &[]));
    // docs examples for parentheses.
    let vars_example = [("VARIABLE1", "content-x"), ("VARIABLE3", "something")];
    assert!(eval(
        "($VARIABLE1 =~ /^content.*/ || $VARIABLE2 =~ /thing$/) && $VARIABLE3",
        &vars_example
    ));
    assert!(eval(
        r#"$CI_COMMIT_BRANCH == "my-branch" || (($VARIABLE1 == "thing" || $VARIABLE2 == "thing") && $VARIABLE3)"#,
        &[("CI_COMMIT_BRANCH", "my-branch")]
    ));
}

#[test]
fn runtime_errors() {
    // GitLab fails on these with internal errors (NoMethodError), so they are reported.
    let expr = parse("/ab/ == $A").unwrap();
    let err = expr.eval(&vars(&[("A", "x")])).unwrap_err();
    assert_eq!((err.column, err.source_text.as_str()), (6, "/ab/ == $A"));
    let expr = parse("$A =~ ($A == $A)").unwrap();
    assert_eq!(expr.eval(&vars(&[("A", "x")])).unwrap_err().column, 4);
    assert!(parse("/ab/ =~ /cd/").unwrap().eval(&vars(&[])).is_err());
    // Two regexes compare by source (UntrustedRegexp#==), and a false comparison on the
    // right of `=~` is `return false unless regexp`.
    assert!(eval("/ab/i == /ab/i", &[]));
    assert!(!eval("/ab/ == /ab/i", &[]));
    assert!(!eval("$A =~ ($A != $A)", &[("A", "x")]));
    // A regex on the right of `==` is merely unequal (String#== with a non-string).
    assert!(!eval("$A == /ab/", &[("A", "ab")]));
}

#[test]
fn variables_in_order_of_first_use() {
    let expr = parse("($B == $A || $A =~ $C) && $B != null && \"$D\" == 'x'").unwrap();
    assert_eq!(expr.variables(), ["B", "A", "C"]);
    assert!(parse("null").unwrap().variables().is_empty());
}

#[test]
fn display_normalises() {
    let cases = [
        ("$A==$B", "$A == $B"),
        ("  ( ( $A ) )\t", "$A"),
        ("'x' != $A", r#""x" != $A"#),
        (r#"$A == 'say "hi"'"#, r#"$A == 'say "hi"'"#),
        (r"$A =~ /a\/b/im", r"$A =~ /a\/b/im"),
        ("$A =~ /ab//", r"$A =~ /ab\//"),
        ("($A || $B) && $C", "($A || $B) && $C"),
        ("$A || ($B && $C)", "$A || $B && $C"),
        ("($A || $B) || $C", "$A || $B || $C"),
        ("$A || ($B || $C)", "$A || ($B || $C)"),
        ("($A == $B) == $C", "$A == $B == $C"),
        ("$A == ($B == $C)", "$A == ($B == $C)"),
        ("$A==null&&true", "$A == null && true"),
    ];
    for (src, expected) in cases {
        let expr = parse(src).unwrap();
        assert_eq!(expr.to_string(), expected, "{src}");
        // The normal form reads back as the same structure.
        let again = parse(&expr.to_string()).unwrap();
        assert_eq!(shape(&again.root), shape(&expr.root), "{src}");
    }
    // Equality includes the text as written: the same structure written otherwise is another
    // expression, and its normal form reads back as the expression written that way.
    assert_ne!(parse("$A==$B").unwrap(), parse("$A == $B").unwrap());
    let normal = parse("$A==$B").unwrap().to_string();
    assert_eq!(parse(&normal).unwrap(), parse("$A == $B").unwrap());
}

/// Variables GitLab sets for the three kinds of Octez pipelines.
const PUSH_TO_MASTER: &[(&str, &str)] = &[
    ("CI_PIPELINE_SOURCE", "push"),
    ("CI_PROJECT_NAMESPACE", "tezos"),
    ("CI_COMMIT_BRANCH", "master"),
    ("CI_COMMIT_REF_NAME", "master"),
    ("CI_DEFAULT_BRANCH", "master"),
    ("TEZOS_DEFAULT_BRANCH", "master"),
    ("TEZOS_DEFAULT_NAMESPACE", "tezos"),
];
const MERGE_REQUEST: &[(&str, &str)] = &[
    ("CI_PIPELINE_SOURCE", "merge_request_event"),
    ("CI_PROJECT_NAMESPACE", "tezos"),
    ("CI_COMMIT_REF_NAME", "alice@opam-v21-release"),
    ("CI_DEFAULT_BRANCH", "master"),
    ("CI_MERGE_REQUEST_ID", "987654"),
    ("CI_MERGE_REQUEST_IID", "12345"),
    ("CI_MERGE_REQUEST_EVENT_TYPE", "merged_result"),
    (
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
        "alice@opam-v21-release",
    ),
    ("CI_MERGE_REQUEST_LABELS", "ci--docs,ci--opam"),
    ("CI_MERGE_REQUEST_TITLE", "WIP: opam release"),
    ("TEZOS_DEFAULT_BRANCH", "master"),
    ("TEZOS_DEFAULT_NAMESPACE", "tezos"),
];
const TAG: &[(&str, &str)] = &[
    ("CI_PIPELINE_SOURCE", "push"),
    ("CI_PROJECT_NAMESPACE", "tezos"),
    ("CI_COMMIT_TAG", "octez-v21.0-rc2"),
    ("CI_COMMIT_REF_NAME", "octez-v21.0-rc2"),
    ("CI_DEFAULT_BRANCH", "master"),
    ("TEZOS_DEFAULT_BRANCH", "master"),
    ("TEZOS_DEFAULT_NAMESPACE", "tezos"),
];

#[test]
fn octez_expressions() {
    // From the Octez `.gitlab-ci.yml` and `.gitlab/ci/**/*.yml` fixtures. Expected values:
    // docs "Run jobs only in specific pipeline types": branch pushes set CI_COMMIT_BRANCH,
    // tag pushes CI_COMMIT_TAG, merge request pipelines neither, and CI_PIPELINE_SOURCE is
    // `push` for branches and tags, `merge_request_event` for merge requests.
    let table: &[(&str, [bool; 3])] = &[
        // [push to master, merge request, tag]
        (
            r#"$CI_PROJECT_NAMESPACE == "tezos" && $CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == "master""#,
            [true, false, false],
        ),
        (
            r#"$CI_PROJECT_NAMESPACE == "tezos" && $CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_TAG =~ /^octez-v\d+\.0(?:\-rc\d+)?$/"#,
            [false, false, true],
        ),
        (
            r#"$CI_PROJECT_NAMESPACE == "tezos" && $CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_TAG =~ /^octez-v\d+\.[1-9][0-9]*$/"#,
            [false, false, false],
        ),
        (
            r#"$CI_PROJECT_NAMESPACE != "tezos" && $CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_TAG"#,
            [false, false, false],
        ),
        (
            r#"$CI_PROJECT_NAMESPACE == "tezos" && $CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_TAG
  != null && $CI_COMMIT_TAG !~ /^octez-v\d+\.0(?:\-rc\d+)?$/ && $CI_COMMIT_TAG
  !~ /^octez-v\d+\.[1-9][0-9]*$/ && $CI_COMMIT_TAG !~ /^octez-v\d+\.\d+\-beta\d*$/
  && $CI_COMMIT_TAG !~ /^octez-v\d+\.\d+\-\d+$/ && $CI_COMMIT_TAG !~ /^grafazos-v\d+\.\d+$/
  && $CI_COMMIT_TAG !~ /^octez-evm-node-v\d+\.\d+$/ && $CI_COMMIT_TAG !~ /^octez-evm-node-v\d+\.\d+-(rc|pre)\d+$/
  && $CI_COMMIT_TAG !~ /^octez-smart-rollup-node-v\d+(\.\d+)?(?:\-(rc|beta)\d+)?$/
  && $CI_COMMIT_TAG !~ /^tezos-sdk-v\d+\.\d+\.\d+$/ && $CI_COMMIT_TAG !~ /^teztale-v\d+\.\d+$/"#,
            // octez-v21.0-rc2 is a release candidate, so not a "non-release tag".
            [false, false, false],
        ),
        (
            "$CI_MERGE_REQUEST_LABELS =~ /(?:^|,)ci--docs(?:$|,)/",
            [false, true, false],
        ),
        (
            "$CI_MERGE_REQUEST_LABELS =~ /(?:^|[,])ci--docker(?:$|[,])/",
            [false, false, false],
        ),
        (
            r#"$TZ_PIPELINE_KIND == "SCHEDULE" && $TZ_SCHEDULE_KIND == "EXTENDED_TESTS""#,
            [false, false, false],
        ),
        (
            "$CI_COMMIT_BRANCH == $TEZOS_DEFAULT_BRANCH && $CI_PROJECT_NAMESPACE == $TEZOS_DEFAULT_NAMESPACE",
            [true, false, false],
        ),
        (
            "($CI_COMMIT_BRANCH =~ /-release$/ || $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME =~ /-release$/) && $CI_PROJECT_NAMESPACE == $TEZOS_DEFAULT_NAMESPACE",
            [false, true, false],
        ),
        (
            "($CI_COMMIT_BRANCH =~ /v[0-9]{1,3}-release$/ || $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME =~ /v[0-9]{1,3}-release$/) && $CI_PROJECT_NAMESPACE == $TEZOS_DEFAULT_NAMESPACE",
            [false, true, false],
        ),
        ("$CI_MERGE_REQUEST_ID", [false, true, false]),
        (
            "$CI_COMMIT_TAG && $CI_PROJECT_NAMESPACE == $TEZOS_DEFAULT_NAMESPACE",
            [false, false, true],
        ),
        (
            "$CI_COMMIT_TAG != null && $CI_PROJECT_NAMESPACE == $TEZOS_DEFAULT_NAMESPACE",
            [false, false, true],
        ),
        (
            r"$CI_COMMIT_TAG =~ /\A\d+\.\d+\.\d+\z/ && $CI_PROJECT_NAMESPACE == $TEZOS_DEFAULT_NAMESPACE",
            [false, false, false],
        ),
        (
            "$CI_COMMIT_BRANCH =~ /opam/ || $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME =~ /opam/",
            [false, true, false],
        ),
        (
            "$CI_COMMIT_BRANCH || $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
            [true, true, false],
        ),
        (
            r#"$CI_PIPELINE_SOURCE == "merge_request_event" && $CI_MERGE_REQUEST_EVENT_TYPE"#,
            [false, true, false],
        ),
        ("$CI_MERGE_REQUEST_TITLE =~ /^wip:/i", [false, true, false]),
        (r#"$foo == "bar" && $foo != "bar""#, [false, false, false]),
    ];
    for (src, expected) in table {
        for (context, want) in [PUSH_TO_MASTER, MERGE_REQUEST, TAG].iter().zip(expected) {
            assert_eq!(eval(src, context), *want, "{src} with {context:?}");
        }
    }
    assert!(eval(
        r"$CI_COMMIT_TAG =~ /\A\d+\.\d+\.\d+\z/",
        &[("CI_COMMIT_TAG", "21.0.1")]
    ));
}

/// A small deterministic generator (xorshift64*), so the property tests need no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn text(&mut self, fragments: &[&str], max_len: u64) -> String {
        let len = self.next() % (max_len + 1);
        (0..len).map(|_| self.pick(fragments)).collect()
    }
}

/// Pieces of expressions and of RE2 syntax, plus noise.
const FRAGMENTS: &[&str] = &[
    "$A", "$B", "$P", "$", "{", "}", "\"", "'", "/", "\\", "\\/", "(", ")", "==", "=~", "!=", "!~",
    "&&", "||", "=", "!", "&", "|", "null", "true", "false", " ", "\t", "\n", "a", "é", "1", "[",
    "]", "^", "?", "*", "+", ".", ":", "-", "i", "m", "s", "U", "x", "(?", "\\d", "\\Q", "\\E",
    "\\p", "\\x", "\\0", "\\7", "[:", ":]", "{2}", "{1,", "~", "//", "/ab/", "\"s\"", "'t'",
];

/// A random expression that is usually well formed: operands, operators and parentheses
/// from the grammar, with regex literals made of random RE2 pieces.
fn generate(rng: &mut Rng, depth: u32) -> String {
    if depth == 0 || rng.next() % 3 == 0 {
        return match rng.next() % 4 {
            0 => format!(
                "/{}a/{}",
                rng.text(REGEX_PIECES, 5),
                rng.pick(&["", "i", "mU"])
            ),
            _ => rng
                .pick(&[
                    "$A", "$B", "$P", "null", "true", "\"s\"", "'t'", "\"\"", "\"/ab/\"",
                ])
                .to_string(),
        };
    }
    let op = rng.pick(&["==", "!=", "=~", "!~", "&&", "||"]);
    let expr = format!(
        "{} {op} {}",
        generate(rng, depth - 1),
        generate(rng, depth - 1)
    );
    if rng.next() % 3 == 0 {
        format!("({expr})")
    } else {
        expr
    }
}

/// Pieces of RE2 syntax, valid and not.
const REGEX_PIECES: &[&str] = &[
    "a",
    "é",
    ".",
    "*",
    "+",
    "?",
    "^",
    "$",
    "|",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "{2}",
    "{1,3}",
    "\\d",
    "\\w",
    "\\s",
    "\\b",
    "\\D",
    "\\Q",
    "\\E",
    "\\p{L}",
    "\\x{41}",
    "\\0",
    "\\17",
    "\\/",
    "[:alpha:]",
    "(?i)",
    "(?s-m:",
    "(?ii)",
    "(?x)",
    "&&",
    "--",
    "~~",
    "\\",
    "-",
    ":",
];

#[test]
fn garbage_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for round in 0..20_000 {
        // Alternate pure noise with generated expressions, some of them damaged.
        let src = if round % 2 == 0 {
            rng.text(FRAGMENTS, 24)
        } else {
            let mut src = generate(&mut rng, 4);
            if rng.next() % 4 == 0 {
                let at = src
                    .char_indices()
                    .map(|(i, _)| i)
                    .nth(rng.next() as usize % src.chars().count().max(1))
                    .unwrap_or(0);
                src.insert_str(at, rng.pick(FRAGMENTS));
            }
            src
        };
        let Ok(expr) = parse(&src) else { continue };
        parsed += 1;
        // Evaluation may fail (runtime errors) but must not panic, whatever the variables
        // hold, including text that is tried as a regex.
        let pattern = format!(
            "/{}/{}",
            rng.text(REGEX_PIECES, 6),
            rng.pick(&["", "i", "ms", "U"])
        );
        let a = rng.text(FRAGMENTS, 6);
        let lookup = |name: &str| match name {
            "A" => Some(a.clone()),
            "P" => Some(pattern.clone()),
            _ => None,
        };
        let _ = expr.eval(&lookup);
        let _ = expr.variables();
        // The normal form parses back to the same structure and prints the same.
        let printed = expr.to_string();
        let again = parse(&printed).unwrap_or_else(|err| panic!("{src:?} -> {printed:?}: {err}"));
        assert_eq!(
            shape(&again.root),
            shape(&expr.root),
            "{src:?} -> {printed:?}"
        );
        assert_eq!(again.to_string(), printed);
    }
    // The generator must exercise the parser's success paths too.
    assert!(parsed > 3_000, "only {parsed} inputs parsed");
}

#[test]
fn re2_translation_never_panics() {
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let pattern = if rng.next() % 2 == 0 {
            rng.text(FRAGMENTS, 16)
        } else {
            rng.text(REGEX_PIECES, 12)
        };
        if let Ok(translated) = re2_to_rust(&pattern) {
            let _ = Regex::new(&translated);
        }
    }
}
