//! `[[actions]]`: every problem with its key, and the section `[aws_commands]` it needs.

use crate::config::{Config, Purpose};

fn problems(actions: &str) -> Vec<String> {
    let text = format!(
            "[slack]\napp_token = \"xapp-1-x\"\nbot_token = \"xoxb-x\"\n\
             [aws_commands]\nrole_arn = \"arn:aws:iam::123456789012:role/r\"\nregion = \"eu-west-1\"\n\
             {actions}"
        );
    match Config::load_from_str(
        "t.toml",
        &text,
        Vec::<(String, String)>::new(),
        Purpose::Run,
    ) {
        Ok(_) => vec![],
        Err(errors) => errors
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect(),
    }
}

#[test]
fn every_problem_has_its_key() {
    let found = problems(
        r#"
[[actions]]
name = "Scale Web"
description = "d"
command = ["sh", "-c", "x"]

[[actions]]
name = "b"
description = "d"
command = ["aws", "ecs", "update-service", "{args.count}", "{alarm.owner}"]
args = ["count", "unused"]
routes = ["nowhere"]
[actions.variables.count]
pattern = "[0-9]"
default = "12"
[actions.variables.unused]
pattern = "x"

[[actions]]
name = "help"
description = "d"
command = ["aws", "ec2", "describe-instances"]
slash = true
"#,
    );
    let keys: Vec<&str> = found.iter().map(|p| p.split(':').next().unwrap()).collect();
    for key in [
        "actions[0].name",
        "actions[0].command[0]",
        "actions[1].command[4]",
        "actions[1].variables.count.default",
    ] {
        assert!(keys.contains(&key), "{key} in {found:#?}");
    }
    let found = problems(
        r#"
[[actions]]
name = "b"
description = "d"
command = ["aws", "ecs", "update-service", "{args.count}"]
args = ["count", "unused"]
[actions.variables.count]
pattern = "[0-9]"
[actions.variables.unused]
pattern = "x"

[[actions]]
name = "help"
description = "d"
command = ["aws", "ec2", "describe-instances"]
slash = true
routes = ["nowhere"]
"#,
    );
    let keys: Vec<&str> = found.iter().map(|p| p.split(':').next().unwrap()).collect();
    for key in [
        "actions[0].args[1]",
        "actions[1].routes[0]",
        "actions[1].slash",
    ] {
        assert!(keys.contains(&key), "{key} in {found:#?}");
    }
}

#[test]
fn actions_need_the_aws_commands_section() {
    let text =
        "[slack]\napp_token = \"xapp-1-x\"\nbot_token = \"xoxb-x\"\n[[actions]]\nname = \"a\"\n\
                    description = \"d\"\ncommand = [\"aws\", \"ec2\", \"describe-instances\"]\n";
    let errors =
        Config::load_from_str("t.toml", text, Vec::<(String, String)>::new(), Purpose::Run)
            .unwrap_err();
    assert_eq!(errors.problems[0].key, "actions", "{errors}");
}
