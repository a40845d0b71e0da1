//! docs/setup.md's "Zero to the first alarm in Slack" against the real CLI, unit and package.
//!
//! The guide is at most six commands; every `chatops-bot …` in it parses with the real command
//! line (`cli::Cli`); the config and token paths it edits are the ones the unit reads and the
//! package installs; the stack outputs it names exist in the template.

use std::path::Path;

use chatops_bot::cli::Cli;
use clap::Parser;

fn read(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The guide's section of docs/setup.md.
fn guide() -> String {
    let setup = read("docs/setup.md");
    let start = setup
        .find("## Zero to the first alarm in Slack")
        .expect("the guide's heading");
    let rest = &setup[start + 3..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_owned()
}

/// The commands of the guide: one per fenced code block.
fn commands(guide: &str) -> Vec<String> {
    let mut commands = vec![];
    let mut block: Option<Vec<String>> = None;
    for line in guide.lines().map(str::trim) {
        match (&mut block, line.starts_with("```")) {
            (None, true) => block = Some(vec![]),
            (Some(lines), true) => {
                assert_eq!(lines.len(), 1, "one command per block: {lines:?}");
                commands.push(lines.remove(0));
                block = None;
            }
            (Some(lines), false) => lines.push(line.to_owned()),
            (None, false) => {}
        }
    }
    commands
}

/// `command`'s arguments when it runs chatops-bot (after `sudo env VAR=…`, before a redirection).
fn bot_arguments(command: &str) -> Option<Vec<&str>> {
    let words = command
        .split_whitespace()
        .skip_while(|w| matches!(*w, "sudo" | "env") || w.contains('='));
    let words: Vec<&str> = words.take_while(|w| !w.starts_with('>')).collect();
    (words.first() == Some(&"chatops-bot")).then_some(words)
}

/// The unit's `[Service]` values for `key`, in order.
fn unit_values(key: &str) -> Vec<String> {
    let prefix = format!("{key}=");
    read("systemd/chatops-bot.service")
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix).map(str::to_owned))
        .collect()
}

#[test]
fn the_guide_is_six_commands_and_each_bot_command_parses() {
    let commands = commands(&guide());
    assert_eq!(commands.len(), 6, "{commands:#?}");
    let bot: Vec<Vec<&str>> = commands.iter().filter_map(|c| bot_arguments(c)).collect();
    let subcommands: Vec<&str> = bot.iter().map(|args| args[1]).collect();
    assert_eq!(subcommands, ["manifest", "check", "test-alarm"]);
    for args in &bot {
        if let Err(e) = Cli::try_parse_from(args) {
            panic!("`{}` does not parse: {e}", args.join(" "));
        }
    }
    assert!(bot[1].contains(&"--live"), "step 4 is the live check");
}

#[test]
fn the_guide_edits_what_the_unit_reads_and_the_package_installs() {
    let commands = commands(&guide());
    let exec_start = unit_values("ExecStart");
    let [exec_start] = exec_start.as_slice() else {
        panic!("one ExecStart=: {exec_start:?}");
    };
    let config = exec_start
        .split_whitespace()
        .skip_while(|w| *w != "--config")
        .nth(1)
        .expect("ExecStart= names --config");
    assert_eq!(config, "/etc/chatops-bot/bot.toml");
    let binary = exec_start.split_whitespace().next().unwrap_or_default();
    let cargo = read("Cargo.toml");
    assert!(
        binary == "/usr/bin/chatops-bot"
            && cargo.contains(r#"["target/release/chatops-bot", "usr/bin/", "755"]"#),
        "the unit starts {binary}, where the package puts the binary"
    );
    assert!(
        cargo.contains(r#"["bot.toml", "etc/chatops-bot/bot.toml", "644"]"#),
        "the package installs {config}"
    );

    let edit = commands
        .iter()
        .find(|c| c.starts_with("sudoedit "))
        .expect("a sudoedit step");
    assert!(edit.contains(config), "{edit} opens {config}");
    for credential in unit_values("LoadCredential") {
        let (name, path) = credential.split_once(':').expect("NAME:PATH");
        assert!(edit.contains(path), "{edit} opens {path}");
        assert!(
            read("deploy/debian/postinst").contains(name),
            "postinst makes {name}"
        );
        let dir = Path::new(path).parent().expect("a directory");
        for command in commands
            .iter()
            .filter(|c| c.contains("CREDENTIALS_DIRECTORY="))
        {
            assert!(
                command.contains(&format!("CREDENTIALS_DIRECTORY={}", dir.display())),
                "{command} reads the credentials from {}",
                dir.display()
            );
        }
    }
    for command in commands.iter().filter(|c| c.contains("--config")) {
        assert!(command.contains(&format!("--config {config}")), "{command}");
    }
}

#[test]
fn the_stack_outputs_the_guide_names_exist() {
    let guide = guide();
    let template = read("deploy/aws/chatops-bot.yaml");
    let outputs = &template[template.find("\nOutputs:\n").expect("Outputs")..];
    for output in ["BotToml", "TopicArn"] {
        assert!(
            guide.contains(&format!("**{output}**")),
            "the guide names {output}"
        );
        assert!(
            outputs.contains(&format!("\n  {output}:\n")),
            "no {output} output"
        );
    }
    let deploy = commands(&guide)
        .into_iter()
        .find(|c| c.starts_with("aws cloudformation deploy "))
        .expect("a deploy step");
    for parameter in ["AlarmChannel", "InstanceRoleName"] {
        assert!(deploy.contains(&format!("{parameter}=")), "{deploy}");
        assert!(
            template.contains(&format!("\n  {parameter}:\n")),
            "no {parameter} parameter"
        );
    }
    assert!(deploy.contains("--template-file deploy/aws/chatops-bot.yaml"));
}
