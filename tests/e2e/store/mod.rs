//! The store's own hardening, end to end: private directory modes against
//! unprivileged host users (CVE-2021-41091 class), and `hoist system check`.

mod check;
mod perms;
