//! Strategic merge patch, lenient RFC 6902 JSON patch, JSON diff, and Kyverno's anchor preprocessing for patches.
