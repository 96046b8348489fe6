//! Black-box tests: each starts real `jamd` processes on port 0 and speaks HTTP to them.
//! Everything runs on SQLite; the PostgreSQL variants run when `JAM_TEST_DATABASE_URL` is set
//! (and are mandatory with `JAM_TEST_REQUIRE_SERVICES=1`); the cluster tests need `JAM_TEST_REDIS_URL`
//! as well, and the Redis restart test the `redis-server` binary (it runs a server of its own).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;
mod support;
mod ws;

mod announcements;
mod authz;
mod bad_input;
mod balancer;
mod ballot;
mod cluster;
mod crowd;
mod discover;
mod exposure;
mod hardening;
mod identity;
mod impressions;
mod inbox;
mod invites;
mod jams;
mod limits;
mod live;
mod loadgen;
mod moderation;
mod mood;
mod oidc;
mod openapi;
mod operations;
mod participation;
mod participation_input;
mod people;
mod polls;
mod proxies;
mod redis_restart;
mod results;
mod schedule;
mod search;
mod tally;
mod themes;
