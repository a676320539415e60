use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

/// The naive recursive definition, straight from the pattern text (exponential; short inputs).
fn reference(p: &[char], t: &[char], s: Syntax) -> bool {
    let literal = |c: char, rest: &[char]| {
        t.first().is_some_and(|&x| x == c || (s.ignore_case && x.to_lowercase().eq(c.to_lowercase())))
            && reference(rest, &t[1..], s)
    };
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..], s)),
        Some(('?', rest)) if s.question_mark => !t.is_empty() && reference(rest, &t[1..], s),
        Some(('\\', rest)) if s.escapes => match rest.split_first() {
            Some((c, rest)) => literal(*c, rest),
            None => literal('\\', rest),
        },
        Some((c, rest)) => literal(*c, rest),
    }
}

fn syntax() -> impl Strategy<Value = Syntax> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(question_mark, escapes, ignore_case)| Syntax {
        question_mark,
        escapes,
        ignore_case,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn agrees_with_the_naive_reference(
        p in "[ab*?\\\\Aé]{0,10}",
        t in "[ab*?\\\\AÉé]{0,10}",
        s in syntax(),
    ) {
        let (pc, tc): (Vec<char>, Vec<char>) = (p.chars().collect(), t.chars().collect());
        prop_assert_eq!(Glob::new(&p, s).matches(&t), reference(&pc, &tc, s), "{:?} ~ {:?} in {:?}", p, t, s);
        prop_assert_eq!(matches(&p, &t, s), reference(&pc, &tc, s));
    }

    #[test]
    fn prefix_and_literal_take_every_character_literally(p in "[ab*?\\\\]{0,6}", t in "[ab*?\\\\]{0,8}") {
        prop_assert_eq!(Glob::prefix(&p).matches(&t), t.starts_with(&p));
        prop_assert_eq!(Glob::literal(&p).matches(&t), t == p);
    }
}

#[test]
fn table() {
    let lucene: &[(&str, &str, bool)] = &[
        ("*", "", true),
        ("*", "abc", true),
        ("a*", "bac", false),
        ("*c", "abc", true),
        ("a*c", "abbb", false),
        ("a?c", "abc", true),
        ("a?c", "ac", false),
        ("a\\*c", "a*c", true),
        ("a\\*c", "abc", false),
        ("a\\", "a\\", true),
        ("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
        ("k*y", "kéy", true),
        ("k?y", "kéy", true),
        ("", "", true),
        ("", "a", false),
    ];
    let star: &[(&str, &str, bool)] = &[
        ("logs-*", "logs-1", true),
        ("logs-*", "log-1", false),
        ("*-1", "logs-1", true),
        ("l*s*1", "logs-1", true),
        ("l*x*1", "logs-1", false),
        ("a*a", "a", false),
        ("log?", "log?", true),
        ("log?", "logs", false),
    ];
    for (p, t, want) in star {
        assert_eq!(matches(p, t, Syntax::STAR), *want, "{p} ~ {t}");
    }
    for (p, t, want) in lucene {
        assert_eq!(Glob::new(p, Syntax::LUCENE).matches(t), *want, "{p} ~ {t}");
    }
    assert!(matches("log?", "logs", Syntax::GLOB) && !matches("log?", "logs", Syntax::STAR));
    assert!(matches("a\\b", "a\\b", Syntax::GLOB));
    assert!(matches("AB*", "abc", Syntax::LUCENE.ignoring_case(true)));
    assert!(!matches("AB*", "abc", Syntax::LUCENE));
    assert_eq!(Glob::new("ab*c", Syntax::LUCENE).literal_prefix(), "ab");
    assert_eq!(Glob::new("a\\*b?", Syntax::LUCENE).literal_prefix(), "a*b");
}

/// Ten-thousand-character patterns of stars, `?`, escapes and literals against long texts: each
/// answers within O(n·m), far below a second even unoptimised.
#[test]
fn adversarial_patterns_stay_linear() {
    let a = "a".repeat(10_000);
    let cases: Vec<(String, String)> = vec![
        ("a*".repeat(5_000) + "b", a.clone()),
        ("*a".repeat(5_000) + "b", a.clone()),
        ("*".to_owned() + &"a".repeat(9_998) + "b", "a".repeat(2_000)),
        ("*?".repeat(5_000), a.clone() + "b"),
        ("\\*".repeat(5_000), "*".repeat(9_999)),
        ("b*".repeat(5_000) + "c", "b".repeat(255)),
        ("*".repeat(9_999) + "b", a.clone()),
        // The true worst case of the greedy algorithm: each of the n restarts rereads m literals.
        ("*".to_owned() + &"a".repeat(99) + "b" + &"*".repeat(9_900), a.clone()),
        ("*\\a?".repeat(2_500), a.clone()),
    ];
    for (p, t) in &cases {
        let started = Instant::now();
        for s in [Syntax::STAR, Syntax::GLOB, Syntax::LUCENE, Syntax::LUCENE.ignoring_case(true)] {
            let _ = Glob::new(p, s).matches(t);
        }
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "{}… took {took:?}", &p[..20]);
    }
    assert!(!Glob::new(&cases[0].0, Syntax::GLOB).matches(&cases[0].1));
    assert!(Glob::new(&cases[3].0, Syntax::GLOB).matches(&cases[3].1));
    assert!(!Glob::new(&cases[5].0, Syntax::GLOB).matches(&cases[5].1));
}
