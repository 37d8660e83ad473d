//! An independent OpenID relying party: Debian's Apache httpd with mod_auth_openidc (a C
//! implementation we did not write), started on `127.0.0.1` while Proofup is on `localhost`, so
//! the two are cross-site as in production. It protects `/protected/`, whose page shows the
//! signed-in user and claims (server-side includes); `?info=json` on its redirect URI tells
//! what the module holds (the ID token's claims, the access and refresh tokens).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, Proc};

pub struct Apache {
    pub port: u16,
    _proc: Proc,
    dir: tempfile::TempDir,
}

/// How the module authenticates at the token endpoint.
#[derive(Clone, Copy)]
pub enum TokenAuth {
    Basic,
    Post,
}

impl Apache {
    /// The redirect URI to register for this relying party (before it starts: the port is
    /// chosen here).
    pub fn plan() -> u16 {
        free_port()
    }

    pub fn redirect_uri(port: u16) -> String {
        format!("http://127.0.0.1:{port}/protected/redirect_uri")
    }

    pub fn start(port: u16, issuer: &str, client_id: &str, secret: &str, auth: TokenAuth) -> Self {
        assert!(
            std::path::Path::new("/usr/lib/apache2/modules/mod_auth_openidc.so").exists(),
            "mod_auth_openidc not installed: run `make test` (installs apache2 and libapache2-mod-auth-openidc)"
        );
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Apache's children run as www-data: everything they read must be readable by it.
        std::fs::create_dir_all(root.join("htdocs/protected")).unwrap();
        std::fs::write(
            root.join("htdocs/protected/index.shtml"),
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Intranet</title></head>\n\
             <body><h1>Intranet</h1><p id=\"user\">Signed in as <b><!--#echo var=\"REMOTE_USER\" --></b></p>\n\
             <p id=\"name\"><!--#echo var=\"OIDC_CLAIM_name\" --></p><p id=\"amr\"><!--#echo var=\"OIDC_CLAIM_amr\" --></p>\n\
             <p><a id=\"logout\" href=\"/protected/redirect_uri?logout=http%3A%2F%2F127.0.0.1%3A{PORT}%2Fbye.html\">Sign out</a></p></body></html>\n"
                .replace("{PORT}", &port.to_string()),
        )
        .unwrap();
        std::fs::write(
            root.join("htdocs/bye.html"),
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signed out</title></head><body><h1>Signed out of the intranet</h1></body></html>\n",
        )
        .unwrap();
        let passphrase = format!("{:x}", rand_u128());
        let auth = match auth {
            TokenAuth::Basic => "client_secret_basic",
            TokenAuth::Post => "client_secret_post",
        };
        let m = "/usr/lib/apache2/modules";
        let conf = format!(
            r#"ServerRoot "{root}"
DefaultRuntimeDir "{root}"
PidFile "{root}/httpd.pid"
ErrorLog "{root}/error.log"
LogLevel warn auth_openidc:info
Listen 127.0.0.1:{port}
ServerName 127.0.0.1:{port}
User www-data
Group www-data
LoadModule mpm_event_module {m}/mod_mpm_event.so
LoadModule authn_core_module {m}/mod_authn_core.so
LoadModule authz_core_module {m}/mod_authz_core.so
LoadModule authz_user_module {m}/mod_authz_user.so
LoadModule mime_module {m}/mod_mime.so
LoadModule include_module {m}/mod_include.so
LoadModule dir_module {m}/mod_dir.so
LoadModule auth_openidc_module {m}/mod_auth_openidc.so
TypesConfig /etc/mime.types
DocumentRoot "{root}/htdocs"
DirectoryIndex index.shtml
<Directory "{root}/htdocs">
  Options +Includes
  AddType text/html .shtml
  AddOutputFilter INCLUDES .shtml
  Require all granted
</Directory>
OIDCProviderMetadataURL {issuer}/.well-known/openid-configuration
OIDCClientID {client_id}
OIDCClientSecret {secret}
OIDCRedirectURI http://127.0.0.1:{port}/protected/redirect_uri
OIDCCryptoPassphrase {passphrase}
OIDCScope "openid profile email groups"
OIDCPKCEMethod S256
OIDCStateTimeout 900
OIDCProviderTokenEndpointAuth {auth}
OIDCRemoteUserClaim preferred_username
OIDCPassClaimsAs environment
OIDCInfoHook iat access_token access_token_expires id_token userinfo refresh_token session
<Location /protected>
  AuthType openid-connect
  Require valid-user
</Location>
"#,
            root = root.display(),
        );
        std::fs::write(root.join("httpd.conf"), conf).unwrap();
        Command::new("chmod").args(["-R", "a+rX"]).arg(root).status().unwrap();
        let child = Command::new("/usr/sbin/apache2")
            .args(["-f"])
            .arg(root.join("httpd.conf"))
            .args(["-DFOREGROUND"])
            .env("APACHE_RUN_DIR", root)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("apache2 not found: run `make test`");
        let me = Self { port, _proc: Proc(child), dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "apache did not start:\n{}", me.error_log());
            std::thread::sleep(Duration::from_millis(100));
        }
        me
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// What the module logged (for failures).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

fn rand_u128() -> u128 {
    use std::io::Read as _;
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut b).unwrap();
    u128::from_le_bytes(b)
}
