// A streaming JSON writer into a string: what large replies (a status of
// 10,000 services) are written with, at a fraction of the cost of building
// a document first. Strings are escaped; bytes that are not UTF-8 become
// U+FFFD, so the output is always valid JSON whatever names and reasons
// hold.
#ifndef WATCHD_CONTROL_JSON_WRITER_H_
#define WATCHD_CONTROL_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace watchd {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  // Inside an object: the key of the next value.
  void Key(std::string_view key);

  void String(std::string_view s);
  void Int(int64_t v);
  // Shortest round-trip form; NaN and infinities (not JSON) as null.
  void Double(double v);
  void Bool(bool v);
  void Null();

 private:
  void Open(char c);
  void Close(char c);
  // A comma before every value but the first of its container.
  void BeforeValue();
  void Escaped(std::string_view s);

  std::string* out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool after_key_ = false;
};

}  // namespace watchd

#endif  // WATCHD_CONTROL_JSON_WRITER_H_
