import AccessLogFormat
import Foundation
import Testing

/// Inputs the fuzz targets (`Tests/Fuzz`, `bash Tests/fuzz.sh`) crashed on, byte-exact, and the
/// bounds they exposed. Each test names the target and the crash artifact.
struct FormatFuzzRegressionTests {
    /// FuzzJSONTokenizer crash-7335ea93 (mode byte 0: standard keys), a real Pachyderm listener
    /// line from the shared corpus. It has no upstream-service-time key, and
    /// `value(of: .upstreamServiceTime)` returned a range no line had written (uninitialized
    /// memory, or an earlier line's range) instead of nil.
    @Test func jsonValueOfAnAbsentKeyIsNil() throws {
        let input = "\u{0}" + #"{"tx_bytes":0,"duration_ms":0,"response_code":0,"request_attempt_count":0,"downstream_remote_address":"10.244.0.1","connection_id":113,"protocol":"HTTP/1.1","message":"listener log","rx_bytes":3,"response_flags":"-","severity":"info","request_headers_bytes":0,"listener":"proxy-http","timestamp":"2022-11-30T05:21:40.397Z"}"# + "\n"
        let line = String(input.dropFirst().dropLast())
        let plan = BuiltinFormat.json.plan
        let tokenizer = LineTokenizer()
        // An earlier line holding the key: its range must not leak into the next line.
        let earlier = #"{"response_code":200,"upstream_service_time":"12","upstream_cluster":"outbound|80||a"}"#
        earlier.withBytes { #expect(tokenizer.tokenize($0, plan: plan) == nil) }
        line.withBytes { bytes in
            #expect(tokenizer.tokenize(bytes, plan: plan) == nil)
            #expect(tokenizer.value(of: .upstreamServiceTime) == nil)
            #expect(tokenizer.value(of: .upstreamCluster) == nil)
            #expect(tokenizer.value(of: .responseCode).map { Array($0) } == Array("0".utf8))
            #expect(tokenizer.value(of: .bytesSent).map { Array($0) } == Array("0".utf8))
            for kind in FieldKind.allCases {
                guard let value = tokenizer.value(of: kind) else { continue }
                #expect(value.baseAddress! >= bytes.baseAddress! && value.baseAddress! + value.count <= bytes.baseAddress! + bytes.count,
                        "\(kind) outside the line")
            }
        }
        // `null` is no value either.
        #"{"response_code":503,"upstream_cluster":null}"#.withBytes {
            #expect(tokenizer.tokenize($0, plan: plan) == nil)
            #expect(tokenizer.value(of: .upstreamCluster) == nil)
        }
    }

    /// FuzzJSONTokenizer, on an input written for its new invariant (the object starts where the
    /// prefix ends): with no `{` in the first 512 bytes of a longer line, byte 512 was taken
    /// for the object's start, and `X"response_code":200}` after 512 bytes of prefix parsed.
    @Test func jsonLineWithoutABraceInItsFirst512BytesIsInvalid() {
        let input: [UInt8] = [0x00] + Array(repeating: UInt8(ascii: "a"), count: 512) + Array(#"X"response_code":200}"#.utf8) + [0x0a]
        let line = String(decoding: input.dropFirst().dropLast(), as: UTF8.self)
        let tokenizer = LineTokenizer()
        line.withBytes { #expect(tokenizer.tokenize($0, plan: BuiltinFormat.json.plan) == .invalidJSON) }
        // A prefix of up to 512 bytes before the object is still read.
        let prefixed = String(repeating: "a", count: 511) + #"{"response_code":200}"#
        prefixed.withBytes { #expect(tokenizer.tokenize($0, plan: BuiltinFormat.json.plan) == nil) }
        #expect(tokenizer.prefixLength == 511 && tokenizer.record.responseCode == 200)
    }

    /// FuzzFormatCompiler crash-e888726f: a strftime argument holding invalid UTF-8 (each byte
    /// read as U+FFFD, three bytes in the string) before an unsupported `%0f`. The error column
    /// counted UTF-8 bytes inside the argument and pointed past the end of the format.
    @Test func strftimeErrorColumnCountsCharacters() throws {
        let input: [UInt8] = [
            0x5b, 0x25, 0x53, 0x54, 0x41, 0x52, 0x54, 0x5f, 0x54, 0x49, 0x4d, 0x45, 0x28, 0x25, 0x46, 0x20,
            0x25, 0x54, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3,
            0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3,
            0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3, 0x20, 0x25, 0x45, 0x33, 0x53, 0x20, 0x25,
            0x65, 0x20, 0x25, 0x61, 0x20, 0x25, 0x68, 0x20, 0x25, 0x79, 0x20, 0x25, 0x5a, 0x20, 0x25, 0x30,
            0x66, 0x20, 0x25, 0x25, 0x29, 0x25, 0x5d, 0x20, 0x43, 0x43, 0x43, 0x43, 0x25, 0x42, 0x59, 0x54,
            0x45, 0x53, 0x5f, 0x53, 0x45, 0x4e, 0x54, 0x25, 0x00, 0x32, 0x30, 0x32, 0x35, 0x2d, 0x30, 0x34,
            0x2d, 0x31, 0x38, 0x54, 0x30, 0x36, 0x3a, 0x33, 0x36, 0x3a, 0x33, 0x33, 0x2e, 0x38, 0x38, 0x38,
            0x38, 0x38, 0x38, 0x38, 0x3a, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38,
            0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x29, 0x25, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38,
            0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38,
            0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x30, 0x25, 0x42, 0x59, 0x54, 0x45, 0x53,
            0x5f, 0x53, 0x45, 0x4e, 0x54, 0x25, 0x6f, 0x75, 0x74, 0x20, 0x46, 0x20, 0x5b, 0x32, 0x30, 0x32,
            0x35, 0x2d, 0xd7, 0xcb, 0xd2, 0xce, 0x38, 0x54, 0x30, 0x36, 0x3a, 0x33, 0x36, 0x3a, 0x33, 0x33,
            0x2e, 0x30, 0x34, 0x33, 0x5a, 0x5d, 0x20, 0x22, 0x47, 0x45, 0x54, 0x20, 0x2f, 0x73, 0x74, 0x61,
            0x74, 0x75, 0x73, 0x2f, 0x34, 0x31, 0x38, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31,
            0x22, 0x20, 0x34, 0x31, 0x38, 0x20, 0x2d, 0x20, 0x76, 0x69, 0x61, 0x5f, 0x75, 0x70, 0x73, 0x74,
            0x72, 0x65, 0x61, 0x6d, 0x20, 0x2d, 0x20, 0x22, 0x2d, 0x22, 0x25, 0x53, 0x54, 0x41, 0x52, 0x54,
            0x5f, 0x54, 0x49, 0x4d, 0x45, 0x5f, 0x4c, 0x4f, 0x43, 0x41, 0x4c, 0x25, 0x6c, 0x2f, 0x69, 0x6e,
            0x76, 0x61, 0x6c, 0x69, 0x64, 0x3a, 0x6f, 0x75, 0x74, 0x62, 0x6f, 0x75, 0x6e, 0x64, 0x5f, 0x2e,
            0x38, 0x30, 0x30, 0x30, 0x5f, 0x2e, 0x5f, 0x2e, 0x68, 0x74, 0x74, 0x70, 0x62, 0x69, 0x6e, 0x2e,
            0x64, 0x65, 0x66, 0x61, 0x75, 0x6c, 0x74, 0x2e, 0x73, 0x76, 0x63, 0x2e, 0x63, 0x6c, 0x75, 0x73,
            0x74, 0x65, 0x72, 0x2e, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x20, 0x64, 0x65, 0x66, 0x61, 0x75, 0x6c,
            0x74, 0x0a, 0x32, 0x30, 0x32, 0x35, 0x2d, 0x30, 0x34, 0x2d, 0x31, 0x39, 0x54, 0x30, 0x35, 0x3a,
            0x35, 0x36, 0x3a, 0x30, 0x35, 0x2e, 0x34, 0x31, 0x30, 0x30, 0x30, 0x2d, 0x65, 0x30, 0x38, 0x66,
            0x30, 0x62, 0x34, 0x36, 0x61, 0x64, 0x31, 0x66, 0x22, 0x20, 0x22, 0x68, 0x74, 0x74, 0x70, 0x62,
            0x69, 0x6e, 0x32, 0x37, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x36, 0x3a, 0x35, 0x36, 0x32, 0x36, 0x35,
            0x20, 0x31, 0x30, 0x2e, 0x32, 0x34, 0x34, 0x2e, 0x30, 0x2e, 0x31, 0x33, 0x3a, 0xc8, 0xcb, 0x38,
            0x30, 0x20, 0x31, 0x30, 0x2e, 0x32, 0x34, 0x34, 0x2e, 0x30, 0x2e, 0x31, 0x32, 0x3a, 0x33, 0x36,
            0x34, 0x34, 0x36, 0x20, 0x6f, 0x75, 0x74, 0x62, 0x6f, 0x75, 0x6e, 0x64, 0x5f, 0x2e, 0x38, 0x30,
            0x30, 0x30, 0x5f, 0x2e, 0x5f, 0x2e, 0x68, 0x74, 0x74, 0x70, 0x62, 0x69, 0x6e, 0x2e, 0x66, 0x6f,
            0x6f, 0x2e, 0x73, 0x76, 0x63, 0x2e, 0x63, 0x6c, 0x75, 0x73, 0x74, 0x65, 0x72, 0x2e, 0x6c, 0x6f,
            0x63, 0x61, 0x6c, 0x20, 0x64, 0x65, 0x66, 0x61, 0x75, 0x6c, 0x74,
        ]
        let format = String(decoding: input.prefix { $0 != 0 }, as: UTF8.self)
        let error = try #require(throws: FormatError.self) { try LinePlan(formatString: format) }
        #expect(error.column == 80)
        let characters = Array(format.unicodeScalars)
        #expect(error.column <= characters.count)
        #expect(characters[error.column - 1] == "0" && characters[error.column - 2] == "%")
        #expect(error.description.contains("unsupported time specifier '%0'"))
        // Plain ASCII before the specifier: the column is the same in bytes and characters.
        let ascii = try #require(throws: FormatError.self) { try LinePlan(formatString: "[%START_TIME(%F %Q)%]") }
        #expect(ascii.column == 18)
    }

    /// FuzzFormatCompiler crash-ef7e6794: the format `\n` typed as two characters compiled to a
    /// plan with no step (the trailing `\n` is dropped), and the tokenizer read its first step
    /// past the end of the step table (ASan heap-buffer-overflow).
    @Test func formatOfOnlyAnEscapedNewlineIsRejected() {
        let input: [UInt8] = [0x5c, 0x6e]
        #expect(throws: FormatError.self) { try LinePlan(formatString: String(decoding: input, as: UTF8.self)) }
        #expect(throws: FormatError.self) { try LinePlan(formatString: "\n") }
        #expect((try? LinePlan(formatString: #"%RESPONSE_CODE%\n"#))?.fieldKinds == [.responseCode])
    }

    /// The tokenizer keeps one range per field in a table of 256: a format with more operators
    /// is refused at the first one past it, instead of being written past the table.
    @Test func moreThan256OperatorsAreRefused() throws {
        let fields = (0..<300).map { "%REQ(X-H\($0))%" }
        let error = try #require(throws: FormatError.self) { try LinePlan(formatString: fields.joined(separator: " ")) }
        #expect(error.message == "more than 256 operators")
        #expect(error.column == fields[..<256].map { $0.count + 1 }.reduce(0, +) + 1)
        // A quoted run crossing the limit is refused too.
        let quoted = "\"" + fields.joined(separator: "\" \"") + "\""
        #expect(throws: FormatError.self) { try LinePlan(formatString: quoted) }
        // 256 is fine, and a line with them parses.
        let plan = try LinePlan(formatString: fields[..<256].joined(separator: " "))
        #expect(plan.fieldKinds.count == 256)
        let line = (0..<256).map { "v\($0)" }.joined(separator: " ")
        line.withBytes { #expect(LineTokenizer().tokenize($0, plan: plan) == nil) }
    }

    /// Format strings of a megabyte compile, or fail with a clear error, in bounded time.
    @Test(arguments: ["operators", "percent", "nested-req", "unclosed-arg", "adjacent", "literal"])
    func megabyteFormatStrings(kind: String) throws {
        let size = 1 << 20
        let format: String
        switch kind {
        case "operators":
            // Random-ish operators and literals.
            let operators = ["%START_TIME%", "%RESPONSE_CODE%", "%RESPONSE_FLAGS%", "%REQ(:AUTHORITY)%", "%UPSTREAM_CLUSTER%",
                             "%DURATION%", "%REQ(USER-AGENT):20%", "%START_TIME(%s.%3f)%", "%DYNAMIC_METADATA(a:b)%"]
            let literals = [" ", "\" \"", " [", "] ", "|", " - ", "é", "\""]
            var text = "", state: UInt64 = 7
            while text.utf8.count < size {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                text += operators[Int(state >> 33) % operators.count] + literals[Int(state >> 40) % literals.count]
            }
            format = text
        case "percent": format = String(repeating: "%", count: size)
        case "nested-req": format = String(repeating: "%REQ(", count: size / 5)
        case "unclosed-arg": format = "%REQ(" + String(repeating: "(x)", count: size / 3)
        case "adjacent": format = String(repeating: "%RESPONSE_CODE%", count: size / 15)
        default: format = String(repeating: "abc ", count: size / 4) + "%RESPONSE_CODE%"
        }
        let clock = ContinuousClock()
        let start = clock.now
        var failure: FormatError?
        do {
            let plan = try LinePlan(formatString: format)
            #expect(kind == "literal", "\(kind) compiled to \(plan.fieldKinds.count) fields")
        } catch {
            failure = error
            // A clear message: short, with a caret under a column inside the format.
            #expect(error.column >= 1 && error.column <= format.unicodeScalars.count + 1)
            #expect(error.description.count < 500)
        }
        let elapsed = clock.now - start
        #expect(elapsed < .seconds(20), "\(kind): \(elapsed)")
        switch kind {
        case "operators": #expect(failure?.message == "more than 256 operators")
        case "percent": #expect(failure?.column == 2)
        case "nested-req", "unclosed-arg": #expect(failure?.message == "unclosed '(' in %REQ(…)%" && failure?.column == 1)
        case "adjacent": #expect(failure?.column == 16)
        default: #expect(failure == nil)
        }
    }
}
