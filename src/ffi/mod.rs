//! The stable C ABI (`include/cocoon.h`). (Placeholder: filled in by the C ABI work.)
