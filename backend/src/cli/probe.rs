//! `proofup probe`: is the server on this machine ready? For a container's health check.

use super::CliResult;
use crate::config::ProbeArgs;

pub fn probe(args: &ProbeArgs) -> CliResult<String> {
    let mut addr = args.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let url = format!("http://{addr}/readyz");
    let agent = ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(args.timeout_seconds.max(1))).build();
    match agent.get(&url).call() {
        Ok(r) if r.status() == 200 => Ok(format!("ready ({url})")),
        Ok(r) => Err(format!("not ready: {url} answered {}", r.status()).into()),
        Err(ureq::Error::Status(code, _)) => Err(format!("not ready: {url} answered {code}").into()),
        Err(ureq::Error::Transport(t)) => Err(format!("not ready: {url}: {}", t.kind()).into()),
    }
}
