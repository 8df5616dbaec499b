#include "core/expect_regex.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <utility>

namespace watchd {
namespace {

// Bounds on what a pattern may cost: the parser recurses once per group,
// counted repetition copies its operand, and a search costs up to the
// program's size per byte of text.
constexpr int kMaxDepth = 64;
constexpr int kMaxCount = 1000;
constexpr size_t kMaxProgram = 2000;

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::bitset<256> ClassOf(char escape) {
  std::bitset<256> set;
  switch (escape) {
    case 'd':
    case 'D':
      for (int c = '0'; c <= '9'; ++c) set.set(c);
      break;
    case 'w':
    case 'W':
      for (int c = 0; c < 256; ++c) set[c] = IsWordByte(c);
      break;
    default:  // s, S
      for (char c : {' ', '\t', '\n', '\v', '\f', '\r'}) {
        set.set(static_cast<unsigned char>(c));
      }
      break;
  }
  if (escape == 'D' || escape == 'W' || escape == 'S') set.flip();
  return set;
}

bool IsClassEscape(char c) {
  return c == 'd' || c == 'D' || c == 'w' || c == 'W' || c == 's' || c == 'S';
}

// The syntax tree: a pattern is parsed whole before it is compiled, since
// counted repetition emits its operand several times.
struct Node {
  enum Kind {
    kBytes,
    kClass,
    kBol,
    kEol,
    kWord,
    kNotWord,
    kConcat,
    kAlt,
    kRepeat
  };
  Kind kind;
  std::string bytes;    // kBytes: a literal run
  int class_index = 0;  // kClass
  int min = 0;          // kRepeat
  int max = -1;         // kRepeat; -1 unbounded
  std::vector<std::unique_ptr<Node>> kids;
};

std::unique_ptr<Node> MakeNode(Node::Kind kind) {
  auto node = std::make_unique<Node>();
  node->kind = kind;
  return node;
}

}  // namespace

class ExpectRegex::Parser {
 public:
  Parser(const std::string& pattern, ExpectRegex* re) : p_(pattern), re_(re) {}

  Status Parse() {
    std::unique_ptr<Node> root = Alternation(0);
    if (error_.empty() && i_ < p_.size()) error_ = "unbalanced ')'";
    if (error_.empty()) Emit(*root);
    if (error_.empty() && Full()) error_ = "pattern too large";
    if (!error_.empty()) return Status::Error(error_);
    re_->program_.push_back({Op::kMatch});
    return Status::Ok();
  }

 private:
  bool AtEnd() const { return i_ >= p_.size(); }
  char Peek() const { return p_[i_]; }
  void Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }

  std::unique_ptr<Node> Alternation(int depth) {
    if (depth > kMaxDepth) {
      Fail("groups nested too deep");
      return MakeNode(Node::kConcat);
    }
    auto alt = MakeNode(Node::kAlt);
    alt->kids.push_back(Concatenation(depth));
    while (error_.empty() && !AtEnd() && Peek() == '|') {
      ++i_;
      alt->kids.push_back(Concatenation(depth));
    }
    if (alt->kids.size() == 1) return std::move(alt->kids.front());
    return alt;
  }

  std::unique_ptr<Node> Concatenation(int depth) {
    auto seq = MakeNode(Node::kConcat);
    while (error_.empty() && !AtEnd() && Peek() != '|' && Peek() != ')') {
      std::unique_ptr<Node> atom = Atom(depth);
      if (!error_.empty()) break;
      seq->kids.push_back(Quantified(std::move(atom)));
    }
    return seq;
  }

  std::unique_ptr<Node> Quantified(std::unique_ptr<Node> atom) {
    if (AtEnd()) return atom;
    const char q = Peek();
    if (q != '*' && q != '+' && q != '?' && q != '{') return atom;
    const Node::Kind kind = atom->kind;
    if (kind == Node::kBol || kind == Node::kEol || kind == Node::kWord ||
        kind == Node::kNotWord) {
      Fail("nothing to repeat");
      return atom;
    }
    int min = q == '+' ? 1 : 0;
    int max = q == '?' ? 1 : -1;
    if (q == '{') {
      if (!Braces(&min, &max)) return atom;
    } else {
      ++i_;
    }
    if (!AtEnd() && Peek() == '?') ++i_;  // lazy: the same for a search
    if (!AtEnd() &&
        (Peek() == '*' || Peek() == '+' || Peek() == '?' || Peek() == '{')) {
      Fail("nothing to repeat");
    }
    auto repeat = MakeNode(Node::kRepeat);
    repeat->min = min;
    repeat->max = max;
    repeat->kids.push_back(std::move(atom));
    return repeat;
  }

  // {n}, {n,}, {n,m}; leaves i_ past the '}'.
  bool Braces(int* min, int* max) {
    size_t j = i_ + 1;
    auto number = [&](int* out) {
      size_t start = j;
      long value = 0;
      while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9') {
        value = std::min<long>(value * 10 + (p_[j] - '0'), kMaxCount + 1);
        ++j;
      }
      *out = static_cast<int>(value);
      return j > start;
    };
    bool ok = number(min);
    *max = *min;
    if (ok && j < p_.size() && p_[j] == ',') {
      ++j;
      if (!number(max)) *max = -1;
    }
    if (!ok || j >= p_.size() || p_[j] != '}') {
      Fail("bad {} quantifier");
      return false;
    }
    if (*min > kMaxCount || *max > kMaxCount) {
      Fail("repeat count above " + std::to_string(kMaxCount));
      return false;
    }
    if (*max != -1 && *max < *min) {
      Fail("bad {} quantifier");
      return false;
    }
    i_ = j + 1;
    return true;
  }

  std::unique_ptr<Node> Atom(int depth) {
    const char c = p_[i_++];
    switch (c) {
      case '(': {
        if (p_.compare(i_, 2, "?:") == 0) {
          i_ += 2;
        } else if (!AtEnd() && Peek() == '?') {
          Fail("lookaround and named groups are not supported");
          return MakeNode(Node::kConcat);
        }
        std::unique_ptr<Node> group = Alternation(depth + 1);
        if (AtEnd() || Peek() != ')') {
          Fail("missing ')'");
        } else {
          ++i_;
        }
        return group;
      }
      case '[':
        return Class();
      case '.': {
        std::bitset<256> any;
        any.set();
        any.reset('\n');
        any.reset('\r');
        return ClassNode(any);
      }
      case '^':
        return MakeNode(Node::kBol);
      case '$':
        return MakeNode(Node::kEol);
      case '\\':
        return Escape();
      case '*':
      case '+':
      case '?':
      case '{':
        Fail("nothing to repeat");
        return MakeNode(Node::kConcat);
      default:
        return Literal(std::string(1, c));
    }
  }

  std::unique_ptr<Node> Literal(std::string bytes) {
    auto node = MakeNode(Node::kBytes);
    node->bytes = std::move(bytes);
    return node;
  }

  std::unique_ptr<Node> ClassNode(const std::bitset<256>& set) {
    auto node = MakeNode(Node::kClass);
    node->class_index = static_cast<int>(re_->classes_.size());
    re_->classes_.push_back(set);
    return node;
  }

  std::unique_ptr<Node> Escape() {
    if (AtEnd()) {
      Fail("trailing backslash");
      return MakeNode(Node::kConcat);
    }
    const char c = Peek();
    if (IsClassEscape(c)) {
      ++i_;
      return ClassNode(ClassOf(c));
    }
    if (c == 'b' || c == 'B') {
      ++i_;
      return MakeNode(c == 'b' ? Node::kWord : Node::kNotWord);
    }
    if ((c >= '1' && c <= '9') || c == 'k') {
      Fail("back-references are not supported");
      return MakeNode(Node::kConcat);
    }
    return Literal(EscapedBytes(/*in_class=*/false));
  }

  // The bytes an escape (at i_, after the backslash) stands for: one byte,
  // or the UTF-8 of a \u code point above 0x7f outside a class.
  std::string EscapedBytes(bool in_class) {
    const char c = p_[i_++];
    switch (c) {
      case 'n':
        return "\n";
      case 'r':
        return "\r";
      case 't':
        return "\t";
      case 'f':
        return "\f";
      case 'v':
        return "\v";
      case '0':
        return std::string(1, '\0');
      case 'b':  // only reached inside a class: backspace
        return "\b";
      case 'c':
        if (!AtEnd() && std::isalpha(static_cast<unsigned char>(Peek()))) {
          return std::string(1, static_cast<char>(p_[i_++] % 32));
        }
        return "\\c";
      case 'x':
      case 'u': {
        const size_t digits = c == 'x' ? 2 : 4;
        unsigned value = 0;
        for (size_t k = 0; k < digits; ++k) {
          int h = i_ + k < p_.size() ? HexValue(p_[i_ + k]) : -1;
          if (h < 0) {
            Fail(std::string("bad \\") + c + " escape");
            return "";
          }
          value = value * 16 + static_cast<unsigned>(h);
        }
        i_ += digits;
        if (value <= 0x7f || c == 'x') {
          return std::string(1, static_cast<char>(value));
        }
        if (in_class) {
          Fail("non-ASCII \\u in a class is not supported");
          return "";
        }
        if (value <= 0x7ff) {
          return {static_cast<char>(0xc0 | value >> 6),
                  static_cast<char>(0x80 | (value & 0x3f))};
        }
        return {static_cast<char>(0xe0 | value >> 12),
                static_cast<char>(0x80 | ((value >> 6) & 0x3f)),
                static_cast<char>(0x80 | (value & 0x3f))};
      }
      default:
        return std::string(1, c);
    }
  }

  std::unique_ptr<Node> Class() {
    std::bitset<256> set;
    bool negate = false;
    if (!AtEnd() && Peek() == '^') {
      negate = true;
      ++i_;
    }
    while (error_.empty() && !AtEnd() && Peek() != ']') {
      int lo = ClassAtom(&set);
      if (lo >= 0 && i_ + 1 < p_.size() && Peek() == '-' && p_[i_ + 1] != ']') {
        ++i_;
        int hi = ClassAtom(&set);
        if (hi < 0 || hi < lo) {
          Fail("bad range in []");
          break;
        }
        for (int b = lo; b <= hi; ++b) set.set(b);
      } else if (lo >= 0) {
        set.set(lo);
      }
    }
    if (AtEnd()) Fail("missing ']'");
    ++i_;
    if (negate) set.flip();
    return ClassNode(set);
  }

  // One member of a class: its byte, or -1 after adding a \d-like set.
  int ClassAtom(std::bitset<256>* set) {
    if (Peek() != '\\') return static_cast<unsigned char>(p_[i_++]);
    ++i_;
    if (AtEnd()) {
      Fail("trailing backslash");
      return -1;
    }
    if (IsClassEscape(Peek())) {
      *set |= ClassOf(p_[i_++]);
      return -1;
    }
    std::string bytes = EscapedBytes(/*in_class=*/true);
    return bytes.empty() ? -1 : static_cast<unsigned char>(bytes[0]);
  }

  int Pc() const { return static_cast<int>(re_->program_.size()); }
  bool Full() const { return re_->program_.size() >= kMaxProgram; }

  int Add(Inst inst) {
    re_->program_.push_back(inst);
    return Pc() - 1;
  }

  void Emit(const Node& node) {
    if (Full()) return;
    switch (node.kind) {
      case Node::kBytes:
        for (char b : node.bytes)
          Add({Op::kByte, static_cast<unsigned char>(b)});
        break;
      case Node::kClass:
        Add({Op::kClass, node.class_index});
        break;
      case Node::kBol:
        Add({Op::kBol});
        break;
      case Node::kEol:
        Add({Op::kEol});
        break;
      case Node::kWord:
        Add({Op::kWord});
        break;
      case Node::kNotWord:
        Add({Op::kNotWord});
        break;
      case Node::kConcat:
        for (const auto& kid : node.kids) Emit(*kid);
        break;
      case Node::kAlt: {
        std::vector<int> exits;
        for (size_t k = 0; k + 1 < node.kids.size(); ++k) {
          int split = Add({Op::kSplit});
          re_->program_[split].arg = Pc();
          Emit(*node.kids[k]);
          exits.push_back(Add({Op::kJump}));
          re_->program_[split].arg2 = Pc();
        }
        Emit(*node.kids.back());
        for (int exit : exits) re_->program_[exit].arg = Pc();
        break;
      }
      case Node::kRepeat:
        EmitRepeat(node);
        break;
    }
  }

  void EmitRepeat(const Node& node) {
    const Node& kid = *node.kids.front();
    for (int k = 0; k < node.min && !Full(); ++k) Emit(kid);
    if (node.max == -1) {
      int split = Add({Op::kSplit});
      re_->program_[split].arg = Pc();
      Emit(kid);
      Add({Op::kJump, split});
      re_->program_[split].arg2 = Pc();
      return;
    }
    std::vector<int> splits;
    for (int k = node.min; k < node.max && !Full(); ++k) {
      int split = Add({Op::kSplit});
      re_->program_[split].arg = Pc();
      splits.push_back(split);
      Emit(kid);
    }
    for (int split : splits) re_->program_[split].arg2 = Pc();
  }

  const std::string& p_;
  ExpectRegex* re_;
  size_t i_ = 0;
  std::string error_;
};

Result<ExpectRegex> ExpectRegex::Compile(const std::string& pattern) {
  ExpectRegex re;
  re.pattern_ = pattern;
  Status status = Parser(pattern, &re).Parse();
  if (!status.ok()) return status;
  return re;
}

bool ExpectRegex::Search(std::string_view text) const {
  const size_t n = program_.size();
  // Threads waiting on a byte, for this position and the next; a pc is
  // queued at most once per position (marked with the position's stamp).
  std::vector<int> current;
  std::vector<int> next;
  std::vector<size_t> stamp(n, 0);
  std::vector<int> stack;
  current.reserve(n);
  next.reserve(n);

  // Follows the empty transitions from pc at position pos; true on a match.
  auto add = [&](std::vector<int>& list, int start, size_t pos) {
    stack.push_back(start);
    while (!stack.empty()) {
      int pc = stack.back();
      stack.pop_back();
      if (stamp[pc] == pos + 1) continue;
      stamp[pc] = pos + 1;
      const Inst& inst = program_[pc];
      switch (inst.op) {
        case Op::kByte:
        case Op::kClass:
          list.push_back(pc);
          break;
        case Op::kSplit:
          stack.push_back(inst.arg2);
          stack.push_back(inst.arg);
          break;
        case Op::kJump:
          stack.push_back(inst.arg);
          break;
        case Op::kBol:
          if (pos == 0) stack.push_back(pc + 1);
          break;
        case Op::kEol:
          if (pos == text.size()) stack.push_back(pc + 1);
          break;
        case Op::kWord:
        case Op::kNotWord: {
          bool before = pos > 0 && IsWordByte(text[pos - 1]);
          bool after = pos < text.size() && IsWordByte(text[pos]);
          if ((before != after) == (inst.op == Op::kWord)) {
            stack.push_back(pc + 1);
          }
          break;
        }
        case Op::kMatch:
          stack.clear();
          return true;
      }
    }
    return false;
  };

  for (size_t pos = 0;; ++pos) {
    // A new thread at every position: the search is unanchored.
    if (add(current, 0, pos)) return true;
    if (pos == text.size()) return false;
    const unsigned char c = static_cast<unsigned char>(text[pos]);
    next.clear();
    for (int pc : current) {
      const Inst& inst = program_[pc];
      bool takes =
          inst.op == Op::kByte ? inst.arg == c : classes_[inst.arg].test(c);
      if (takes && add(next, pc + 1, pos + 1)) return true;
    }
    std::swap(current, next);
  }
}

}  // namespace watchd
