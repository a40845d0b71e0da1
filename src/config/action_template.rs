//! A custom action's argv template: each element literal text and `{variables}`, parsed once at
//! load time. Substitution happens per element (never a joined string split again).

use std::fmt;

/// One `{…}` in a template element.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TemplateVar {
    /// `{alarm.name}`: the alarm's name.
    AlarmName,
    /// `{alarm.region}`: the alarm's region code.
    AlarmRegion,
    /// `{alarm.account}`: the alarm's 12-digit account id.
    AlarmAccount,
    /// `{alarm.dimensions.<Name>}`: a dimension of the alarm's metric.
    AlarmDimension(String),
    /// `{args.<name>}`: a user's argument, declared in `args` and `[actions.variables.<name>]`.
    Arg(String),
}

impl TemplateVar {
    /// Reads the text between the braces; `Err` says why it is not a variable.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "alarm.name" => return Ok(Self::AlarmName),
            "alarm.region" => return Ok(Self::AlarmRegion),
            "alarm.account" => return Ok(Self::AlarmAccount),
            _ => {}
        }
        if let Some(name) = text.strip_prefix("alarm.dimensions.") {
            let valid = !name.is_empty()
                && name.len() <= 255
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
            return if valid {
                Ok(Self::AlarmDimension(name.to_owned()))
            } else {
                Err(format!("{{{text}}} does not name a dimension"))
            };
        }
        if let Some(name) = text.strip_prefix("args.") {
            return if is_variable_name(name) {
                Ok(Self::Arg(name.to_owned()))
            } else {
                Err(format!(
                    "{{{text}}}: an argument's name is 1 to 32 characters of a-z, 0-9 and \"_\""
                ))
            };
        }
        Err(format!(
            "{{{text}}} is not a variable: use {{args.<name>}}, {{alarm.name}}, {{alarm.region}}, \
             {{alarm.account}} or {{alarm.dimensions.<Name>}}"
        ))
    }

    /// Whether the value comes from the alarm (a button on its card, or a run in its thread).
    pub fn is_alarm_field(&self) -> bool {
        !matches!(self, Self::Arg(_))
    }
}

impl fmt::Display for TemplateVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlarmName => f.write_str("alarm.name"),
            Self::AlarmRegion => f.write_str("alarm.region"),
            Self::AlarmAccount => f.write_str("alarm.account"),
            Self::AlarmDimension(name) => write!(f, "alarm.dimensions.{name}"),
            Self::Arg(name) => write!(f, "args.{name}"),
        }
    }
}

/// Whether `name` may name an argument variable: `[a-z][a-z0-9_]{0,31}`.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A piece of one template element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Var(TemplateVar),
}

/// One argv element: text and variables, in order (`{{` and `}}` are literal braces).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgTemplate {
    pub pieces: Vec<Piece>,
}

impl ArgTemplate {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(format!("an unclosed \"{{\" in {text:?}")),
                        }
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Var(TemplateVar::parse(name.trim())?));
                }
                '}' => return Err(format!("a lone \"}}\" in {text:?} (write \"}}}}\")")),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() || pieces.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Self { pieces })
    }

    /// The element when it holds no variable.
    pub fn as_literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [Piece::Text(text)] => Some(text),
            _ => None,
        }
    }

    pub fn vars(&self) -> impl Iterator<Item = &TemplateVar> {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Var(var) => Some(var),
            Piece::Text(_) => None,
        })
    }

    /// The element with each variable replaced by `value(var)`.
    pub fn fill<E>(
        &self,
        mut value: impl FnMut(&TemplateVar) -> Result<String, E>,
    ) -> Result<String, E> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Var(var) => out.push_str(&value(var)?),
            }
        }
        Ok(out)
    }
}

impl fmt::Display for ArgTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => f.write_str(&text.replace('{', "{{").replace('}', "}}"))?,
                Piece::Var(var) => write!(f, "{{{var}}}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_split_into_text_and_variables() {
        let t = ArgTemplate::parse("arn:{alarm.account}:{{x}}:{args.count}").unwrap();
        assert_eq!(
            t.pieces,
            [
                Piece::Text("arn:".into()),
                Piece::Var(TemplateVar::AlarmAccount),
                Piece::Text(":{x}:".into()),
                Piece::Var(TemplateVar::Arg("count".into())),
            ]
        );
        assert_eq!(t.to_string(), "arn:{alarm.account}:{{x}}:{args.count}");
        assert_eq!(ArgTemplate::parse("").unwrap().as_literal(), Some(""));
        let dim = ArgTemplate::parse("{alarm.dimensions.AutoScalingGroupName}").unwrap();
        assert_eq!(
            dim.vars().collect::<Vec<_>>(),
            [&TemplateVar::AlarmDimension("AutoScalingGroupName".into())]
        );
    }

    #[test]
    fn unknown_or_broken_variables_are_refused() {
        for bad in [
            "{alarm.owner}",
            "{count}",
            "{args.Count}",
            "x{",
            "a}b",
            "{args.}",
        ] {
            assert!(ArgTemplate::parse(bad).is_err(), "{bad}");
        }
        let filled = ArgTemplate::parse("n={args.n}")
            .unwrap()
            .fill(|_| Ok::<_, ()>("4".into()));
        assert_eq!(filled, Ok("n=4".into()));
    }
}
