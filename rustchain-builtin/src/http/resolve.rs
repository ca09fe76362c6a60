//! Name resolution for `http_request`: the [`Resolver`] that answers (the
//! system's, or one a program or a test installs), and the checking resolver
//! the shared HTTP clients use for the call in scope, so the addresses a connection goes to are
//! exactly the ones that were checked.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::client::current_call;

/// What a [`Resolver`] returns: the addresses a name resolves to.
pub type Lookup<'a> = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>>;

/// Answers DNS questions for `http_request`.
///
/// The tool never connects to what a resolver says without checking it:
/// every answer is classified and checked against the policy, and the
/// connection goes to those checked addresses only. Install your own with
/// [`set_resolver`] (a program with its own DNS, or a test mapping names to
/// fixed addresses).
///
/// ```
/// use std::net::IpAddr;
/// use rustchain_builtin::http::{Lookup, Resolver};
///
/// /// Every name is 192.0.2.1.
/// struct Fixed;
///
/// impl Resolver for Fixed {
///     fn lookup<'a>(&'a self, _host: &'a str) -> Lookup<'a> {
///         Box::pin(async { Ok(vec![IpAddr::from([192, 0, 2, 1])]) })
///     }
/// }
/// ```
pub trait Resolver: Send + Sync {
    /// The addresses `host` (a DNS name, never an IP literal) resolves to.
    fn lookup<'a>(&'a self, host: &'a str) -> Lookup<'a>;
}

/// The operating system's resolver (`getaddrinfo`, on tokio's blocking pool).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> Lookup<'a> {
        Box::pin(async move {
            let answers = tokio::net::lookup_host((host, 0)).await?;
            Ok(answers.map(|address| address.ip()).collect())
        })
    }
}

static RESOLVER: RwLock<Option<Arc<dyn Resolver>>> = RwLock::new(None);

/// Makes `resolver` answer every later `http_request` in this process, and
/// returns the one it replaces ([`SystemResolver`] until the first call).
///
/// Process-wide on purpose: a tool call carries no extensions a program
/// could hang a resolver on, and DNS is a property of where the program
/// runs, not of one call.
pub fn set_resolver(resolver: Arc<dyn Resolver>) -> Arc<dyn Resolver> {
    let mut slot = RESOLVER
        .write()
        .unwrap_or_else(|poison| poison.into_inner());
    slot.replace(resolver)
        .unwrap_or_else(|| Arc::new(SystemResolver))
}

/// The resolver `http_request` asks now.
pub fn resolver() -> Arc<dyn Resolver> {
    RESOLVER
        .read()
        .unwrap_or_else(|poison| poison.into_inner())
        .clone()
        .unwrap_or_else(|| Arc::new(SystemResolver))
}

/// The extra authorities, and how many times they were set (the shared
/// clients are built per generation).
static EXTRA_ROOTS: RwLock<(Vec<reqwest::Certificate>, u64)> = RwLock::new((Vec::new(), 0));

/// Makes every later `http_request` in this process trust the certificate
/// authorities in `der_certificates` as well as the system's, replacing any
/// set before; an empty list goes back to the system's alone.
///
/// For tests that serve TLS on loopback under a CA of their own, so the
/// tool's real TLS path runs. Hidden from the docs: an operator's CA
/// belongs in the system's trust store, which the tool already uses.
#[doc(hidden)]
pub fn set_extra_roots(der_certificates: &[&[u8]]) -> Result<(), String> {
    let roots = der_certificates
        .iter()
        .map(|der| reqwest::Certificate::from_der(der))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("not a DER certificate: {err}"))?;
    let mut slot = EXTRA_ROOTS
        .write()
        .unwrap_or_else(|poison| poison.into_inner());
    *slot = (roots, slot.1 + 1);
    Ok(())
}

/// The authorities set by [`set_extra_roots`], trusted beside the system's,
/// and their generation.
pub(super) fn extra_roots() -> (Vec<reqwest::Certificate>, u64) {
    EXTRA_ROOTS
        .read()
        .unwrap_or_else(|poison| poison.into_inner())
        .clone()
}

/// The resolver of the shared HTTP clients: for the call in scope
/// (`client::for_call`) it asks the installed [`Resolver`], checks every
/// answer against that call's grants, and hands the client only checked
/// addresses, or refuses the whole request; outside a call it refuses.
pub(super) struct CheckingResolver;

impl Resolve for CheckingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        // Taken now, on the requesting task: the lookup future may be
        // finished elsewhere, with the call it started for.
        let call = current_call();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let Some(call) = call else {
                return Err(io::Error::other(format!(
                    "`{name}` was to be resolved outside any call; refused"
                ))
                .into());
            };
            match call.resolve(&name).await {
                Ok(addresses) => {
                    let addresses: Vec<SocketAddr> = addresses;
                    Ok(Box::new(addresses.into_iter()) as Addrs)
                }
                Err(refusal) => Err(refusal.into()),
            }
        })
    }
}
