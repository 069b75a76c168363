#include "pickle.h"

#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "byte_reader.h"

namespace modeldna::io::detail {
namespace {

using Kind = PickleValue::Kind;

// Callables a checkpoint may REDUCE (torch.load(weights_only=True)'s list).
enum class Callable {
  OrderedDict, RebuildTensor, RebuildTensorV2, RebuildTensorV3, RebuildParameter, RebuildParameterWithState,
  Parameter, Size, CodecsEncode, RebuildFromTypeV2, Device,
};

const std::map<std::string, Callable, std::less<>>& callables() {
  static const std::map<std::string, Callable, std::less<>> table = {
      {"collections.OrderedDict", Callable::OrderedDict},
      {"torch._utils._rebuild_tensor", Callable::RebuildTensor},
      {"torch._utils._rebuild_tensor_v2", Callable::RebuildTensorV2},
      {"torch._utils._rebuild_tensor_v3", Callable::RebuildTensorV3},
      {"torch._utils._rebuild_parameter", Callable::RebuildParameter},
      {"torch._utils._rebuild_parameter_with_state", Callable::RebuildParameterWithState},
      {"torch.nn.parameter.Parameter", Callable::Parameter},
      {"torch.Size", Callable::Size},
      {"_codecs.encode", Callable::CodecsEncode},
      {"torch._tensor._rebuild_from_type_v2", Callable::RebuildFromTypeV2},
      {"torch.device", Callable::Device},
  };
  return table;
}

// Storage classes and dtypes: allowed globals that are values, not calls.
const std::map<std::string, DType, std::less<>>& storage_types() {
  static const std::map<std::string, DType, std::less<>> table = {
      {"torch.DoubleStorage", DType::F64}, {"torch.FloatStorage", DType::F32},  {"torch.HalfStorage", DType::F16},
      {"torch.BFloat16Storage", DType::BF16}, {"torch.LongStorage", DType::I64}, {"torch.IntStorage", DType::I32},
      {"torch.ShortStorage", DType::I16},  {"torch.CharStorage", DType::I8},    {"torch.ByteStorage", DType::U8},
      {"torch.BoolStorage", DType::BOOL},  {"torch.UntypedStorage", DType::U8}, {"torch.storage.UntypedStorage", DType::U8},
  };
  return table;
}

const std::map<std::string, DType, std::less<>>& dtypes() {
  static const std::map<std::string, DType, std::less<>> table = {
      {"torch.float64", DType::F64}, {"torch.float32", DType::F32}, {"torch.float16", DType::F16},
      {"torch.bfloat16", DType::BF16}, {"torch.int64", DType::I64}, {"torch.int32", DType::I32},
      {"torch.int16", DType::I16},   {"torch.int8", DType::I8},     {"torch.uint8", DType::U8},
      {"torch.bool", DType::BOOL},   {"torch.float8_e4m3fn", DType::F8_E4M3}, {"torch.float8_e5m2", DType::F8_E5M2},
  };
  return table;
}

bool allowed_constant(std::string_view name) {
  return name == "torch.Tensor" || name == "torch.serialization._get_layout" || name == "torch.strided";
}

class Machine {
 public:
  Machine(const std::string& path, const std::byte* bytes, uint64_t size) : r_(path, bytes, size) {}

  Unpickled run() {
    while (true) {
      opcode_at_ = r_.position();
      const auto op = static_cast<unsigned char>(r_.read<uint8_t>("opcode"));
      if (op == '.') break;  // STOP
      step(op);
    }
    if (stack_.size() != 1) fail("pickle ends with " + std::to_string(stack_.size()) + " values on the stack");
    Unpickled out;
    out.root = stack_.back();
    out.values = std::move(values_);
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw FormatError(r_.path(), "pickle at byte " + std::to_string(opcode_at_) + ": " + problem);
  }

  uint32_t make(PickleValue v) {
    if (values_.size() >= kMaxPickleValues) fail("more than " + std::to_string(kMaxPickleValues) + " objects");
    values_.push_back(std::move(v));
    return static_cast<uint32_t>(values_.size() - 1);
  }
  uint32_t make(Kind kind) {
    PickleValue v;
    v.kind = kind;
    return make(std::move(v));
  }
  void push(uint32_t index) {
    if (stack_.size() >= kMaxPickleStack) fail("stack deeper than " + std::to_string(kMaxPickleStack));
    stack_.push_back(index);
  }
  uint32_t pop() {
    if (stack_.size() <= mark_floor()) fail("stack underflow");
    const uint32_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  uint32_t top() {
    if (stack_.size() <= mark_floor()) fail("stack underflow");
    return stack_.back();
  }
  std::size_t mark_floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<uint32_t> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const std::size_t from = marks_.back();
    marks_.pop_back();
    std::vector<uint32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(from), stack_.end());
    stack_.resize(from);
    return items;
  }
  PickleValue& at(uint32_t index) { return values_[index]; }

  void memo_put(uint64_t key) {
    if (memo_.size() >= kMaxPickleMemo && !memo_.count(key)) fail("memo larger than " + std::to_string(kMaxPickleMemo));
    memo_[key] = top();
  }
  void memo_get(uint64_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo key " + std::to_string(key) + " was never stored");
    push(it->second);
  }

  std::string_view line(std::string_view what) {
    const std::byte* start = r_.here();
    const uint64_t left = r_.remaining();
    const void* nl = std::memchr(start, '\n', static_cast<std::size_t>(std::min<uint64_t>(left, 1 << 20)));
    if (!nl) fail(std::string(what) + " has no end of line");
    const auto length = static_cast<uint64_t>(static_cast<const std::byte*>(nl) - start);
    const std::string_view text = r_.bytes(length, what);
    r_.skip(1, "newline");
    return text;
  }

  int64_t small_int(uint32_t index, const std::string& what) {
    const auto& v = at(index);
    if (v.kind != Kind::Int && v.kind != Kind::Bool) fail(what + " is not an integer");
    return v.integer;
  }
  std::vector<int64_t> int_tuple(uint32_t index, const std::string& what) {
    const auto& v = at(index);
    if (v.kind != Kind::Tuple && v.kind != Kind::List) fail(what + " is not a tuple");
    if (v.items.size() > 64) fail(what + " has " + std::to_string(v.items.size()) + " dimensions");
    std::vector<int64_t> out;
    for (uint32_t item : v.items) out.push_back(small_int(item, what + " entry"));
    return out;
  }
  const std::vector<uint32_t>& args_of(uint32_t index) {
    if (at(index).kind != Kind::Tuple) fail("call arguments are not a tuple");
    return at(index).items;
  }

  // Resolves "module.name": an allowed callable or value, else refuses.
  uint32_t global(std::string_view module, std::string_view name) {
    const std::string full = std::string(module) + "." + std::string(name);
    const bool known = callables().count(full) || storage_types().count(full) || dtypes().count(full) ||
                       allowed_constant(full);
    if (!known) fail("pickle asks for " + quote(full) + "; refusing to execute code from a model file");
    PickleValue v;
    v.kind = Kind::Global;
    v.text = full;
    return make(std::move(v));
  }

  uint32_t tensor(uint32_t storage, int64_t offset, std::vector<int64_t> size, std::vector<int64_t> stride,
                  std::optional<DType> dtype) {
    if (at(storage).kind != Kind::Storage) fail("tensor rebuilt from something that is not a storage");
    if (size.size() != stride.size()) fail("tensor size and stride differ in rank");
    PickleValue v;
    v.kind = Kind::Tensor;
    v.storage = storage;
    v.storage_offset = offset;
    v.size = std::move(size);
    v.stride = std::move(stride);
    v.dtype = dtype.value_or(at(storage).dtype);
    return make(std::move(v));
  }

  uint32_t call(uint32_t callable, uint32_t args_index) {
    const auto& f = at(callable);
    if (f.kind != Kind::Global) fail("REDUCE on something that is not a global");
    const auto it = callables().find(f.text);
    if (it == callables().end()) fail("pickle calls " + quote(f.text) + ", which is not a function it may call");
    const std::vector<uint32_t> args = args_of(args_index);
    auto need = [&](std::size_t low, std::size_t high) {
      if (args.size() < low || args.size() > high)
        fail(f.text + " called with " + std::to_string(args.size()) + " arguments");
    };
    switch (it->second) {
      case Callable::OrderedDict: {
        need(0, 1);
        const uint32_t dict = make(Kind::Dict);
        if (args.size() == 1) {
          const std::vector<uint32_t> pairs = at(args[0]).items;
          for (uint32_t pair : pairs) {
            if (at(pair).kind != Kind::Tuple || at(pair).items.size() != 2) fail("OrderedDict item is not a pair");
            const auto kv = at(pair).items;
            at(dict).items.insert(at(dict).items.end(), kv.begin(), kv.end());
          }
        }
        return dict;
      }
      case Callable::RebuildTensor:
        need(4, 4);
        return tensor(args[0], small_int(args[1], "storage offset"), int_tuple(args[2], "size"),
                      int_tuple(args[3], "stride"), std::nullopt);
      case Callable::RebuildTensorV2:
        need(6, 7);
        return tensor(args[0], small_int(args[1], "storage offset"), int_tuple(args[2], "size"),
                      int_tuple(args[3], "stride"), std::nullopt);
      case Callable::RebuildTensorV3: {
        need(8, 8);
        const auto& dt = at(args[6]);
        const auto d = dt.kind == Kind::Global ? dtypes().find(dt.text) : dtypes().end();
        if (d == dtypes().end()) fail("_rebuild_tensor_v3 with an unsupported dtype");
        return tensor(args[0], small_int(args[1], "storage offset"), int_tuple(args[2], "size"),
                      int_tuple(args[3], "stride"), d->second);
      }
      case Callable::RebuildParameter:
      case Callable::RebuildParameterWithState:
      case Callable::Parameter:
        need(1, 4);
        if (at(args[0]).kind != Kind::Tensor) fail(f.text + " of something that is not a tensor");
        return args[0];
      case Callable::RebuildFromTypeV2: {
        need(4, 4);  // (func, new_type, args, state): the subclass is dropped, the data kept
        const auto& type = at(args[1]);
        if (type.kind != Kind::Global || (type.text != "torch.Tensor" && type.text != "torch.nn.parameter.Parameter"))
          fail("_rebuild_from_type_v2 to a type other than Tensor or Parameter");
        return call(args[0], args[2]);
      }
      case Callable::Size: {
        need(0, 1);
        PickleValue v;
        v.kind = Kind::Tuple;
        if (args.size() == 1) v.items = at(args[0]).items;
        return make(std::move(v));
      }
      case Callable::CodecsEncode: {
        need(1, 2);
        if (at(args[0]).kind != Kind::String) fail("_codecs.encode of something that is not a string");
        PickleValue v;
        v.kind = Kind::Bytes;
        // latin1: each code point below 256 becomes one byte.
        const std::string& s = at(args[0]).text;
        for (std::size_t i = 0; i < s.size(); ++i) {
          const auto c = static_cast<unsigned char>(s[i]);
          if (c < 0x80) {
            v.text += static_cast<char>(c);
          } else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
            v.text += static_cast<char>(((c & 0x1F) << 6) | (static_cast<unsigned char>(s[++i]) & 0x3F));
          } else {
            fail("_codecs.encode of a string outside latin-1");
          }
        }
        return make(std::move(v));
      }
      case Callable::Device: {
        need(1, 2);
        PickleValue v;
        v.kind = Kind::String;
        v.text = at(args[0]).text;
        return make(std::move(v));
      }
    }
    fail("unreachable call");
  }

  uint32_t persistent(uint32_t pid_index) {
    const auto& pid = at(pid_index);
    if (pid.kind != Kind::Tuple || pid.items.size() != 5) fail("persistent id is not a 5-tuple ('storage', ...)");
    const auto& tag = at(pid.items[0]);
    const auto& type = at(pid.items[1]);
    const auto& key = at(pid.items[2]);
    if (tag.kind != Kind::String || tag.text != "storage") fail("persistent id is not a storage");
    if (type.kind != Kind::Global || !storage_types().count(type.text)) fail("storage of an unsupported type");
    if (key.kind != Kind::String) fail("storage key is not a string");
    PickleValue v;
    v.kind = Kind::Storage;
    v.dtype = storage_types().at(type.text);
    v.text = key.text;
    v.numel = small_int(pid.items[4], "storage size");
    if (v.numel < 0) fail("negative storage size");
    return make(std::move(v));
  }

  void set_items(uint32_t dict, const std::vector<uint32_t>& kv) {
    if (at(dict).kind != Kind::Dict) fail("SETITEMS on something that is not a dict");
    if (kv.size() % 2) fail("SETITEMS with an odd number of values");
    auto& items = at(dict).items;
    items.insert(items.end(), kv.begin(), kv.end());
  }
  void append(uint32_t list, const std::vector<uint32_t>& values) {
    const Kind k = at(list).kind;
    if (k != Kind::List && k != Kind::Set) fail("APPEND to something that is not a list");
    auto& items = at(list).items;
    items.insert(items.end(), values.begin(), values.end());
  }

  uint32_t make_int(int64_t value) {
    PickleValue v;
    v.kind = Kind::Int;
    v.integer = value;
    return make(std::move(v));
  }
  uint32_t make_text(Kind kind, std::string_view text) {
    PickleValue v;
    v.kind = kind;
    v.text = std::string(text);
    return make(std::move(v));
  }
  uint32_t make_tuple(std::vector<uint32_t> items) {
    PickleValue v;
    v.kind = Kind::Tuple;
    v.items = std::move(items);
    return make(std::move(v));
  }
  // Little-endian two's complement of `n` bytes (LONG1 / LONG4).
  uint32_t long_int(uint64_t n) {
    if (n > 8) fail("integer of " + std::to_string(n) + " bytes is too large");
    const std::string_view b = r_.bytes(n, "long integer");
    uint64_t value = 0;
    for (uint64_t i = 0; i < n; ++i) value |= static_cast<uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
    if (n > 0 && n < 8 && (static_cast<unsigned char>(b[n - 1]) & 0x80)) value |= ~uint64_t{0} << (8 * n);
    return make_int(static_cast<int64_t>(value));
  }
  uint32_t text_int(std::string_view text) {
    if (text == "00") return make_bool(false);
    if (text == "01") return make_bool(true);
    if (!text.empty() && text.back() == 'L') text.remove_suffix(1);
    try {
      std::size_t used = 0;
      const long long v = std::stoll(std::string(text), &used);
      if (used != text.size()) fail("bad integer literal");
      return make_int(v);
    } catch (const std::logic_error&) {
      fail("bad or too large integer literal");
    }
  }
  uint32_t make_bool(bool b) {
    PickleValue v;
    v.kind = Kind::Bool;
    v.integer = b;
    return make(std::move(v));
  }

  void step(unsigned char op) {
    switch (op) {
      case 0x80: {  // PROTO
        const auto version = r_.read<uint8_t>("protocol");
        if (version > 5) fail("pickle protocol " + std::to_string(version) + " is not supported");
        return;
      }
      case 0x95: r_.skip(8, "frame length"); return;  // FRAME: framing only
      case '(': if (marks_.size() >= kMaxPickleStack) fail("too many MARKs"); marks_.push_back(stack_.size()); return;
      case '0': pop(); return;                                // POP
      case '1': pop_mark(); return;                           // POP_MARK
      case '2': push(top()); return;                          // DUP
      case 'N': push(make(Kind::None)); return;
      case 0x88: push(make_bool(true)); return;               // NEWTRUE
      case 0x89: push(make_bool(false)); return;              // NEWFALSE
      case 'J': push(make_int(r_.read<int32_t>("BININT"))); return;
      case 'K': push(make_int(r_.read<uint8_t>("BININT1"))); return;
      case 'M': push(make_int(r_.read<uint16_t>("BININT2"))); return;
      case 0x8a: push(long_int(r_.read<uint8_t>("LONG1 length"))); return;
      case 0x8b: {
        const auto n = r_.read<int32_t>("LONG4 length");
        if (n < 0) fail("negative LONG4 length");
        push(long_int(static_cast<uint64_t>(n)));
        return;
      }
      case 'I': push(text_int(line("INT"))); return;
      case 'L': push(text_int(line("LONG"))); return;
      case 'G': {  // BINFLOAT: big-endian double
        const std::string_view b = r_.bytes(8, "BINFLOAT");
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(b[i]);
        PickleValue v;
        v.kind = Kind::Float;
        std::memcpy(&v.real, &bits, 8);
        push(make(std::move(v)));
        return;
      }
      case 'F': {
        PickleValue v;
        v.kind = Kind::Float;
        try {
          v.real = std::stod(std::string(line("FLOAT")));
        } catch (const std::logic_error&) {
          fail("bad float literal");
        }
        push(make(std::move(v)));
        return;
      }
      case 'X': push(make_text(Kind::String, r_.bytes(r_.read<uint32_t>("BINUNICODE length"), "BINUNICODE"))); return;
      case 0x8c: push(make_text(Kind::String, r_.bytes(r_.read<uint8_t>("SHORT_BINUNICODE length"), "SHORT_BINUNICODE"))); return;
      case 0x8d: push(make_text(Kind::String, r_.bytes(r_.read<uint64_t>("BINUNICODE8 length"), "BINUNICODE8"))); return;
      case 'V': push(make_text(Kind::String, line("UNICODE"))); return;
      case 'T': {
        const auto n = r_.read<int32_t>("BINSTRING length");
        if (n < 0) fail("negative BINSTRING length");
        push(make_text(Kind::String, r_.bytes(static_cast<uint64_t>(n), "BINSTRING")));
        return;
      }
      case 'U': push(make_text(Kind::String, r_.bytes(r_.read<uint8_t>("SHORT_BINSTRING length"), "SHORT_BINSTRING"))); return;
      case 'S': {
        std::string_view text = line("STRING");
        if (text.size() < 2 || (text.front() != '\'' && text.front() != '"') || text.back() != text.front())
          fail("STRING literal is not quoted");
        push(make_text(Kind::String, text.substr(1, text.size() - 2)));
        return;
      }
      case 'B': push(make_text(Kind::Bytes, r_.bytes(r_.read<uint32_t>("BINBYTES length"), "BINBYTES"))); return;
      case 'C': push(make_text(Kind::Bytes, r_.bytes(r_.read<uint8_t>("SHORT_BINBYTES length"), "SHORT_BINBYTES"))); return;
      case 0x8e: push(make_text(Kind::Bytes, r_.bytes(r_.read<uint64_t>("BINBYTES8 length"), "BINBYTES8"))); return;
      case 0x96: push(make_text(Kind::Bytes, r_.bytes(r_.read<uint64_t>("BYTEARRAY8 length"), "BYTEARRAY8"))); return;
      case ']': push(make(Kind::List)); return;              // EMPTY_LIST
      case '}': push(make(Kind::Dict)); return;              // EMPTY_DICT
      case ')': push(make_tuple({})); return;                // EMPTY_TUPLE
      case 0x8f: push(make(Kind::Set)); return;              // EMPTY_SET
      case 'l': {  // LIST
        PickleValue v;
        v.kind = Kind::List;
        v.items = pop_mark();
        push(make(std::move(v)));
        return;
      }
      case 't': push(make_tuple(pop_mark())); return;         // TUPLE
      case 0x85: { const auto a = pop(); push(make_tuple({a})); return; }
      case 0x86: { const auto b = pop(), a = pop(); push(make_tuple({a, b})); return; }
      case 0x87: { const auto c = pop(), b = pop(), a = pop(); push(make_tuple({a, b, c})); return; }
      case 0x91: {  // FROZENSET
        PickleValue v;
        v.kind = Kind::Set;
        v.items = pop_mark();
        push(make(std::move(v)));
        return;
      }
      case 'd': {  // DICT
        const auto kv = pop_mark();
        const uint32_t dict = make(Kind::Dict);
        set_items(dict, kv);
        push(dict);
        return;
      }
      case 'a': { const auto v = pop(); append(top(), {v}); return; }   // APPEND
      case 'e': { const auto items = pop_mark(); append(top(), items); return; }  // APPENDS
      case 0x90: { const auto items = pop_mark(); append(top(), items); return; }  // ADDITEMS
      case 's': { const auto v = pop(), k = pop(); set_items(top(), {k, v}); return; }  // SETITEM
      case 'u': { const auto kv = pop_mark(); set_items(top(), kv); return; }          // SETITEMS
      case 'p': {
        const std::string_view text = line("PUT");
        try { memo_put(std::stoull(std::string(text))); } catch (const std::logic_error&) { fail("bad PUT key"); }
        return;
      }
      case 'q': memo_put(r_.read<uint8_t>("BINPUT")); return;
      case 'r': memo_put(r_.read<uint32_t>("LONG_BINPUT")); return;
      case 0x94: memo_put(memo_.size()); return;             // MEMOIZE
      case 'g': {
        const std::string_view text = line("GET");
        try { memo_get(std::stoull(std::string(text))); } catch (const std::logic_error&) { fail("bad GET key"); }
        return;
      }
      case 'h': memo_get(r_.read<uint8_t>("BINGET")); return;
      case 'j': memo_get(r_.read<uint32_t>("LONG_BINGET")); return;
      case 'c': {  // GLOBAL
        const std::string module(line("GLOBAL module"));
        const std::string name(line("GLOBAL name"));
        push(global(module, name));
        return;
      }
      case 0x93: {  // STACK_GLOBAL
        const auto name = pop(), module = pop();
        if (at(name).kind != Kind::String || at(module).kind != Kind::String) fail("STACK_GLOBAL of non-strings");
        push(global(at(module).text, at(name).text));
        return;
      }
      case 'R': {  // REDUCE
        const auto args = pop(), f = pop();
        push(call(f, args));
        return;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        const auto args = pop(), cls = pop();
        if (at(cls).kind != Kind::Global || at(cls).text != "torch.nn.parameter.Parameter")
          fail("NEWOBJ of " + (at(cls).kind == Kind::Global ? quote(at(cls).text) : std::string("a non-class")) +
               "; refusing to execute code from a model file");
        push(call(cls, args));
        return;
      }
      case 0x92: fail("NEWOBJ_EX is not allowed in a model file");
      case 'b': {  // BUILD: only the state of dicts and tensors, which is dropped
        const auto state = pop();
        (void)state;
        const Kind k = at(top()).kind;
        if (k != Kind::Dict && k != Kind::Tensor) fail("BUILD of something that is not a dict or tensor");
        return;
      }
      case 'i': {  // INST: old-style instantiation
        const std::string module(line("INST module"));
        const std::string name(line("INST name"));
        fail("pickle asks for " + quote(module + "." + name) + " (INST); refusing to execute code from a model file");
      }
      case 'o': fail("OBJ is not allowed in a model file; refusing to execute code from a model file");
      case 'P': fail("text persistent ids (PERSID) are not PyTorch storages");
      case 'Q': push(persistent(pop())); return;  // BINPERSID
      case 0x82: case 0x83: case 0x84: fail("EXT opcodes (the extension registry) are not allowed in a model file");
      case 0x97: case 0x98: fail("out-of-band buffers are not allowed in a model file");
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unknown opcode ") + hex);
      }
    }
  }

  ByteReader r_;
  uint64_t opcode_at_ = 0;
  std::vector<PickleValue> values_;
  std::vector<uint32_t> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<uint64_t, uint32_t> memo_;
};

}  // namespace

Unpickled unpickle(const std::string& path, const std::byte* bytes, uint64_t size) {
  if (size > kMaxPickleBytes)
    throw FormatError(path, "pickle of " + std::to_string(size) + " bytes exceeds the limit of " +
                                std::to_string(kMaxPickleBytes));
  return Machine(path, bytes, size).run();
}

}  // namespace modeldna::io::detail
