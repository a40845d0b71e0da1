//! Deploys through GitHub Actions: requests, approvals, tracking and the audit trail.

pub mod policy;
