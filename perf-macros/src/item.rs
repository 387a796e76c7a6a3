//! Where to point an error about the kind of item an attribute was put on.

use quote::ToTokens;
use syn::Item;

/// The keyword that says what `item` is (`struct`, `impl`, `mod` …), so an "not a fn" error
/// points at it rather than at the whole item; the whole item when it has no such keyword.
pub(crate) fn keyword(item: &Item) -> &dyn ToTokens {
    match item {
        Item::Impl(i) => &i.impl_token,
        Item::Struct(i) => &i.struct_token,
        Item::Enum(i) => &i.enum_token,
        Item::Union(i) => &i.union_token,
        Item::Trait(i) => &i.trait_token,
        Item::TraitAlias(i) => &i.trait_token,
        Item::Mod(i) => &i.mod_token,
        Item::Static(i) => &i.static_token,
        Item::Const(i) => &i.const_token,
        Item::Type(i) => &i.type_token,
        Item::Use(i) => &i.use_token,
        Item::ExternCrate(i) => &i.extern_token,
        Item::ForeignMod(i) => &i.abi,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointed_at(src: &str) -> String {
        let item: Item = syn::parse_str(src).unwrap();
        keyword(&item).to_token_stream().to_string()
    }

    #[test]
    fn points_at_the_items_keyword() {
        assert_eq!(pointed_at("pub struct S { a: u8 }"), "struct");
        assert_eq!(pointed_at("impl S { fn f() {} }"), "impl");
        assert_eq!(pointed_at("mod m {}"), "mod");
        assert_eq!(pointed_at("use std::fmt;"), "use");
        assert_eq!(pointed_at("extern crate alloc;"), "extern");
        assert_eq!(
            pointed_at("macro_rules! m { () => {} }"),
            "macro_rules ! m { () => { } }"
        );
    }
}
