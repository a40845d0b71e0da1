//! Tests of `split_markdown`: limits, boundaries, fences, and nothing lost.

use super::*;

fn fences_balanced(part: &str) -> bool {
    part.lines().filter(|l| is_fence(l)).count() % 2 == 0
}

/// The text's non-blank lines in order, fences dropped: what a reader must find again.
fn content_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !is_fence(l))
        .map(str::to_owned)
        .collect()
}

#[test]
fn short_text_is_one_part_and_empty_text_none() {
    assert_eq!(
        split_markdown("# Title\n\nbody", 100),
        vec!["# Title\n\nbody"]
    );
    assert!(split_markdown("", 100).is_empty());
    assert!(split_markdown("\n\n", 100).is_empty());
}

#[test]
fn paragraphs_are_kept_whole_and_parts_fill_up() {
    let paragraph = |i: usize| format!("Paragraph {i}: {}", "word ".repeat(30).trim_end());
    let text: Vec<String> = (0..40).map(paragraph).collect();
    let text = text.join("\n\n");
    let parts = split_markdown(&text, 1000);
    assert!(parts.len() > 1);
    for part in &parts {
        assert!(part.chars().count() <= 1000, "{}", part.chars().count());
        assert!(
            part.starts_with("Paragraph "),
            "starts on a boundary: {part:.40}"
        );
    }
    assert_eq!(parts.join("\n\n"), text, "nothing lost, nothing added");
}

#[test]
fn a_20000_char_answer_arrives_whole_in_parts_within_the_limit() {
    let mut text = String::new();
    let mut i = 0;
    while text.chars().count() < 20_000 {
        text.push_str(&format!(
            "## Step {i}\n\nCheck ünïcödé 🚨 item {i} carefully.\n\n"
        ));
        if i % 7 == 0 {
            text.push_str(&format!(
                "```sh\naws logs tail /x --since {i}m\n\necho done\n```\n\n"
            ));
        }
        i += 1;
    }
    let text = text.trim_end().to_owned();
    let parts = split_markdown(&text, 11_000);
    assert!(parts.len() >= 2);
    assert!(parts.iter().all(|p| p.chars().count() <= 11_000));
    assert!(parts.iter().all(|p| fences_balanced(p)));
    assert_eq!(parts.join("\n\n"), text);
}

#[test]
fn a_code_block_too_long_is_cut_with_fences_closed_and_reopened() {
    let body: Vec<String> = (0..400)
        .map(|i| format!("line {i:04} of the log"))
        .collect();
    let text = format!("Before.\n\n```text\n{}\n```\n\nAfter.", body.join("\n"));
    let parts = split_markdown(&text, 2000);
    assert!(parts.len() > 3);
    for part in &parts {
        assert!(part.chars().count() <= 2000);
        assert!(fences_balanced(part), "fence open at a cut: {part:.80}");
    }
    let code_parts: Vec<&String> = parts.iter().filter(|p| p.contains("line ")).collect();
    assert!(
        code_parts.iter().all(|p| p.contains("```text\n")),
        "reopened with its language"
    );
    assert_eq!(content_lines(&parts.join("\n\n")), content_lines(&text));
}

#[test]
fn a_blank_line_inside_code_does_not_end_the_block() {
    let text = "```\na\n\nb\n```";
    assert_eq!(split_markdown(text, 100), vec![text]);
}

#[test]
fn one_enormous_line_is_cut_at_spaces_without_loss() {
    let line = "token ".repeat(3000);
    let parts = split_markdown(line.trim_end(), 1000);
    assert!(parts.iter().all(|p| p.chars().count() <= 1000));
    let rejoined: String = parts.concat();
    // Lines of one paragraph are rejoined with '\n' between the cut pieces.
    assert_eq!(
        rejoined.replace('\n', ""),
        line.trim_end().replace('\n', "")
    );
    let no_spaces = "x".repeat(2500);
    let parts = split_markdown(&no_spaces, 1000);
    assert_eq!(parts.concat().replace(['\n'], ""), no_spaces);
}
