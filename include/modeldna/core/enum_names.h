// File: modeldna/core/enum_names.h
// The way back from a closed set's printed name to its value, for the
// enums that have a `name_of` function and run from 0 to `last`: reading
// our own JSON back (a stored audit result) uses the names it printed.
#pragma once

#include <optional>
#include <string_view>

namespace modeldna {

template <typename Enum>
std::optional<Enum> enum_named(std::string_view name, std::string_view (*name_of)(Enum), Enum last) {
  for (int k = 0; k <= static_cast<int>(last); ++k)
    if (name_of(static_cast<Enum>(k)) == name) return static_cast<Enum>(k);
  return std::nullopt;
}

}  // namespace modeldna
