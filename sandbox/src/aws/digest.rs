//! The MD5 digests SQS returns: of a message body, and of message attributes in SQS's encoding.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use crate::aws::model::AttributeValue;

/// Lower-case hex MD5 of the UTF-8 body (`MD5OfBody` / `MD5OfMessageBody`).
pub(crate) fn md5_of_body(body: &str) -> String {
    hex(&Md5::digest(body.as_bytes()))
}

/// `MD5OfMessageAttributes`: attributes in name order, each encoded as length-prefixed name and
/// data type, a transport byte (1 string, 2 binary) and the length-prefixed value. `None` when empty.
pub(crate) fn md5_of_attributes(attributes: &BTreeMap<String, AttributeValue>) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    let mut hasher = Md5::new();
    for (name, value) in attributes {
        push_prefixed(&mut hasher, name.as_bytes());
        push_prefixed(&mut hasher, value.data_type.as_bytes());
        match &value.binary {
            Some(bytes) => {
                hasher.update([2u8]);
                push_prefixed(&mut hasher, bytes);
            }
            None => {
                hasher.update([1u8]);
                push_prefixed(
                    &mut hasher,
                    value.string.as_deref().unwrap_or("").as_bytes(),
                );
            }
        }
    }
    Some(hex(&hasher.finalize()))
}

fn push_prefixed(hasher: &mut Md5, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    hasher.update(len.to_be_bytes());
    hasher.update(bytes);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(value: &str) -> AttributeValue {
        AttributeValue {
            data_type: "Number".into(),
            string: Some(value.into()),
            binary: None,
        }
    }

    /// Digests published alongside public SQS emulators' test suites as what AWS returns.
    #[test]
    fn digests_match_published_aws_values() {
        assert_eq!(md5_of_body("derp"), "58fd9edd83341c29f1aebba81c31e257");
        for (value, expected) in [
            ("1493147359900", "235c5c510d26fb653d073faed50ae77c"),
            ("1493147359901", "994258b45346a2cc3f9cbb611aa7af30"),
        ] {
            let attributes = BTreeMap::from([("timestamp".to_string(), number(value))]);
            assert_eq!(md5_of_attributes(&attributes).as_deref(), Some(expected));
        }
        assert_eq!(md5_of_attributes(&BTreeMap::new()), None);
    }

    #[test]
    fn binary_attributes_use_their_own_transport_byte() {
        let as_string = BTreeMap::from([(
            "k".to_string(),
            AttributeValue {
                data_type: "Binary".into(),
                string: Some("hi".into()),
                binary: None,
            },
        )]);
        let as_binary = BTreeMap::from([(
            "k".to_string(),
            AttributeValue {
                data_type: "Binary".into(),
                string: None,
                binary: Some(b"hi".to_vec()),
            },
        )]);
        assert_ne!(md5_of_attributes(&as_string), md5_of_attributes(&as_binary));
    }
}
