//! Where an address is: local GeoIP/ASN databases in MaxMind's MMDB format (GeoLite2 City and
//! ASN, DB-IP Lite, or a combined file). Read into memory once at start; never online.
//!
//! Every file given is asked and the answers merged (a City file and an ASN file are the usual
//! pair). An address in no file, a private one, or a record that does not decode is "unknown":
//! a lookup never fails a sign-in.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use proofup_shared::risk::Place;
use serde::Deserialize;

use crate::domain::risk::tenths;
use crate::service::risk::Locate;

/// The fields read, from any of the databases' layouts.
#[derive(Debug, Default, Deserialize)]
struct Record {
    #[serde(default)]
    country: Option<Country>,
    #[serde(default)]
    city: Option<Named>,
    #[serde(default)]
    location: Option<Location>,
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(default)]
    autonomous_system_organization: Option<String>,
    /// GeoIP2 Anonymous IP.
    #[serde(default)]
    is_anonymous: Option<bool>,
    #[serde(default)]
    traits: Option<Traits>,
}

#[derive(Debug, Default, Deserialize)]
struct Country {
    #[serde(default)]
    iso_code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Named {
    #[serde(default)]
    names: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct Location {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
    #[serde(default)]
    accuracy_radius: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
struct Traits {
    #[serde(default)]
    is_anonymous_proxy: Option<bool>,
    #[serde(default)]
    is_anonymous: Option<bool>,
}

/// One or more MMDB files, asked in order.
pub struct MmdbLocator {
    readers: Vec<(PathBuf, maxminddb::Reader<Vec<u8>>)>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: not a readable MMDB database ({reason})")]
pub struct GeoIpError {
    pub path: String,
    pub reason: String,
}

impl MmdbLocator {
    pub fn open(paths: &[PathBuf]) -> Result<Self, GeoIpError> {
        let readers = paths
            .iter()
            .map(|p| {
                maxminddb::Reader::open_readfile(p)
                    .map(|r| (p.clone(), r))
                    .map_err(|e| GeoIpError { path: p.display().to_string(), reason: e.to_string() })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { readers })
    }

    fn lookup(reader: &maxminddb::Reader<Vec<u8>>, ip: IpAddr) -> Option<Record> {
        reader.lookup(ip).ok()?.decode::<Record>().ok().flatten()
    }
}

impl Locate for MmdbLocator {
    fn locate(&self, ip: IpAddr) -> Place {
        let ip = ip.to_canonical();
        let mut place = Place::default();
        for (_, r) in &self.readers {
            let Some(rec) = Self::lookup(r, ip) else { continue };
            if place.country.is_none() {
                place.country = rec.country.and_then(|c| c.iso_code).filter(|c| c.len() == 2);
            }
            if place.city.is_none() {
                place.city = rec.city.and_then(|c| c.names.get("en").cloned());
            }
            if let Some(l) = rec.location.filter(|_| place.lat_e1.is_none()) {
                if let (Some(lat), Some(lon)) = (l.latitude.and_then(tenths), l.longitude.and_then(tenths)) {
                    if lat.abs() <= 900 {
                        place.lat_e1 = Some(lat);
                        place.lon_e1 = Some(lon);
                        place.accuracy_km = l.accuracy_radius.map(u32::from);
                    }
                }
            }
            if place.asn.is_none() {
                place.asn = rec.autonomous_system_number;
                place.as_org = rec.autonomous_system_organization.map(|o| o.chars().take(128).collect());
            }
            let t = rec.traits.unwrap_or_default();
            place.anonymous |= rec.is_anonymous.unwrap_or(false)
                || t.is_anonymous.unwrap_or(false)
                || t.is_anonymous_proxy.unwrap_or(false);
        }
        place
    }

    fn describe(&self) -> String {
        self.readers
            .iter()
            .map(|(p, r)| {
                let name = Path::new(p).file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                let built = time::OffsetDateTime::from_unix_timestamp(r.metadata().build_epoch as i64)
                    .map(|t| t.date().to_string())
                    .unwrap_or_default();
                format!("{name} ({}, built {built})", r.metadata().database_type)
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn built(&self) -> Option<time::OffsetDateTime> {
        self.readers
            .iter()
            .filter_map(|(_, r)| time::OffsetDateTime::from_unix_timestamp(r.metadata().build_epoch as i64).ok())
            .min()
    }
}
