//! The trail as CloudTrail delivers it ("CloudTrail log file examples" and "CloudTrail digest
//! file structure", CloudTrail user guide): records packed into gzip log files named and laid
//! out as CloudTrail lays them out in a bucket, and hourly digest files that list each log
//! file's SHA-256 and chain to the previous digest by its signature, signed with a key only
//! the root key opens. `aws cloudtrail validate-logs` checks such a trail unmodified.

pub mod chain;
pub mod delivery;
pub mod destination;
pub mod digest;
pub mod journal;
pub mod layout;
pub mod log_file;
pub mod lookup;
pub mod nodes;
pub mod record;
pub mod signing;
pub mod sink;
pub mod time;
pub mod verify;

pub use delivery::{
    Delivery, DeliverySettings, DeliveryStatus, Journal, JournalRecord, TrailError,
};
pub use destination::{Bucket, Destination, Directory};
pub use digest::{DigestFile, LogFileEntry, Previous};
pub use layout::TrailPlace;
pub use log_file::LogFile;
pub use record::{Call, Entry};
