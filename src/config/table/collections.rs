//! Table readers for collections: string arrays, string maps and arrays of tables.

use std::collections::BTreeMap;

use ::config::ValueKind;

use super::{
    describe, env_var_of, first_env_var, is_unresolved, ConfigProblem, Echo, Lookup, Table,
};

impl Table {
    /// An array of strings, each passed through `check`. Problems with one item are reported
    /// under `key[i]`.
    pub(crate) fn string_list<T>(
        &mut self,
        key: &str,
        mut check: impl FnMut(String) -> Result<T, String>,
    ) -> Lookup<Vec<T>> {
        self.known.push(key.to_owned());
        let Some(value) = self.entries.remove(key) else {
            return Lookup::Absent;
        };
        let env_var = env_var_of(&value).map(str::to_owned);
        let items = match value.kind {
            ValueKind::Array(items) => items,
            other => {
                let got = describe(&other, Echo::Value);
                let message = format!("expected an array of strings, got {got}");
                self.report_from(key, env_var.as_deref(), message);
                return Lookup::Invalid;
            }
        };
        let mut checked = Vec::with_capacity(items.len());
        let mut valid = true;
        for (index, item) in items.into_iter().enumerate() {
            let item_key = format!("{key}[{index}]");
            if is_unresolved(&item) {
                valid = false;
                continue;
            }
            let outcome = match item.kind {
                ValueKind::String(text) => check(text),
                other => Err(format!(
                    "expected a string, got {}",
                    describe(&other, Echo::Value)
                )),
            };
            match outcome {
                Ok(value) => checked.push(value),
                Err(message) => {
                    valid = false;
                    self.report(&item_key, message);
                }
            }
        }
        if valid {
            Lookup::Found(checked)
        } else {
            Lookup::Invalid
        }
    }

    /// A table of string values such as `{ team = "payments" }`, each value passed through
    /// `check`. Problems with one entry are reported under `key.name`. Names keep their case.
    pub(crate) fn string_map<T>(
        &mut self,
        key: &str,
        mut check: impl FnMut(String) -> Result<T, String>,
    ) -> Lookup<BTreeMap<String, T>> {
        self.known.push(key.to_owned());
        let Some(value) = self.entries.remove(key) else {
            return Lookup::Absent;
        };
        let env_var = env_var_of(&value).map(str::to_owned);
        let entries = match value.kind {
            ValueKind::Table(entries) => entries,
            other => {
                let got = describe(&other, Echo::Value);
                let message = format!(
                    "expected a table of strings such as {{ team = \"payments\" }}, got {got}"
                );
                self.report_from(key, env_var.as_deref(), message);
                return Lookup::Invalid;
            }
        };
        let mut checked = BTreeMap::new();
        let mut valid = true;
        for (name, item) in entries {
            if is_unresolved(&item) {
                valid = false;
                continue;
            }
            let outcome = match item.kind {
                ValueKind::String(text) => check(text),
                other => Err(format!(
                    "expected a string, got {}",
                    describe(&other, Echo::Value)
                )),
            };
            match outcome {
                Ok(value) => {
                    checked.insert(name, value);
                }
                Err(message) => {
                    valid = false;
                    self.report(&format!("{key}.{name}"), message);
                }
            }
        }
        if valid {
            Lookup::Found(checked)
        } else {
            Lookup::Invalid
        }
    }

    /// An array of tables (`[[alarms.route]]`), each read with `read` at path `key[i]`. Only the
    /// file can give one: a value from the environment is a problem. Each item is `None` when
    /// anything in it was invalid, so callers can still look at the valid ones.
    pub(crate) fn tables<T>(
        &mut self,
        key: &str,
        mut read: impl FnMut(&mut Table, usize) -> Option<T>,
    ) -> Lookup<Vec<Option<T>>> {
        self.known.push(key.to_owned());
        let Some(value) = self.entries.remove(key) else {
            return Lookup::Absent;
        };
        if let Some(env_var) = first_env_var(&value).map(str::to_owned) {
            let message = "can only be set in the configuration file, not from the environment";
            self.report_from(key, Some(&env_var), message.to_owned());
            return Lookup::Invalid;
        }
        let items = match value.kind {
            ValueKind::Array(items) => items,
            other => {
                let got = describe(&other, Echo::TypeOnly);
                let message = format!(
                    "expected an array of tables ([[{}]]), got {got}",
                    self.key_path(key)
                );
                self.report(key, message);
                return Lookup::Invalid;
            }
        };
        let mut read_items = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let item_key = format!("{key}[{index}]");
            match item.kind {
                ValueKind::Table(entries) => {
                    let mut child = Table::at(self.key_path(&item_key), self.file.clone(), entries);
                    let value = read(&mut child, index);
                    self.problems.extend(child.finish());
                    read_items.push(value);
                }
                other => {
                    let got = describe(&other, Echo::TypeOnly);
                    self.report(&item_key, format!("expected a table, got {got}"));
                    read_items.push(None);
                }
            }
        }
        Lookup::Found(read_items)
    }

    /// A table of tables keyed by name (`[deploy.environments.prod]`), each read with `read` at
    /// path `key.name`. Each item is `None` when anything in it was invalid.
    pub(crate) fn named_tables<T>(
        &mut self,
        key: &str,
        mut read: impl FnMut(&mut Table, &str) -> Option<T>,
    ) -> Lookup<BTreeMap<String, Option<T>>> {
        self.known.push(key.to_owned());
        let Some(value) = self.entries.remove(key) else {
            return Lookup::Absent;
        };
        let env_var = first_env_var(&value).map(str::to_owned);
        let entries = match value.kind {
            ValueKind::Table(entries) => entries,
            other => {
                let got = describe(&other, Echo::TypeOnly);
                let message = format!(
                    "expected a table of tables ([{}.<name>]), got {got}",
                    self.key_path(key)
                );
                self.report_from(key, env_var.as_deref(), message);
                return Lookup::Invalid;
            }
        };
        let mut read_items = BTreeMap::new();
        // In name order, so problems come out in the same order on every run.
        let entries: BTreeMap<String, ::config::Value> = entries.into_iter().collect();
        for (name, item) in entries {
            let item_key = format!("{key}.{name}");
            let item_env_var = first_env_var(&item).map(str::to_owned);
            match item.kind {
                ValueKind::Table(entries) => {
                    let mut child = Table::at(self.key_path(&item_key), self.file.clone(), entries);
                    let value = read(&mut child, &name);
                    self.problems.extend(child.finish());
                    read_items.insert(name, value);
                }
                other => {
                    let got = describe(&other, Echo::TypeOnly);
                    let message = format!("expected a table, got {got}");
                    self.report_from(&item_key, item_env_var.as_deref(), message);
                    read_items.insert(name, None);
                }
            }
        }
        Lookup::Found(read_items)
    }

    /// Records problems found by a check that looks at several keys at once; their keys are
    /// already full paths.
    pub(crate) fn report_all(&mut self, problems: impl IntoIterator<Item = ConfigProblem>) {
        self.problems.extend(problems);
    }
}
