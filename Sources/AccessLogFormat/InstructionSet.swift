#if canImport(Glibc)
import Glibc
#endif
import ByteKernelsAVX2
import ByteKernelsAVX512
import ByteKernelsSSE2

/// The vector instruction sets the byte kernels are built for, narrowest first. The structural
/// index and the newline search run the widest one the CPU has, chosen once per process.
public enum InstructionSet: String, CaseIterable, Comparable, Sendable {
    /// 16 bytes per compare; every x86-64 CPU has it. Elsewhere (arm64), the portable build.
    case sse2
    /// 32 bytes per compare.
    case avx2
    /// 64 bytes per compare into a mask register (AVX-512BW).
    case avx512

    /// The widest set this CPU runs, capped by the environment variable `FLAGWATCH_ISA`
    /// (`sse2`, `avx2`, `avx512`) to measure or rule out a path. Read once, on first use.
    public static let detected: InstructionSet = {
        let supported = supportedByCPU()
        #if canImport(Glibc)
        if let cap = getenv("FLAGWATCH_ISA").flatMap({ InstructionSet(rawValue: String(cString: $0)) }) {
            return min(cap, supported)
        }
        #endif
        return supported
    }()

    /// Tests run each path over the same inputs: a tokenizer made inside `withValue` indexes
    /// its lines with this set (narrowed to what the CPU runs).
    @TaskLocal package static var override: InstructionSet?

    /// The set a structural index built now uses.
    package static var current: InstructionSet { override.map { min($0, detected) } ?? detected }

    public static func < (a: InstructionSet, b: InstructionSet) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// From the `flags` line of `/proc/cpuinfo`: the kernel lists a feature only when it also
    /// saves the registers it needs, which is the operating-system half of the check.
    private static func supportedByCPU() -> InstructionSet {
        #if arch(x86_64) && os(Linux)
        guard let flags = cpuinfoFlags() else { return .sse2 }
        if flags.contains("avx512bw") && flags.contains("avx512f") { return .avx512 }
        if flags.contains("avx2") { return .avx2 }
        #endif
        return .sse2
    }

    #if arch(x86_64) && os(Linux)
    /// The words of the first `flags` line of `/proc/cpuinfo` (it is within the first KiBs).
    static func cpuinfoFlags() -> Set<Substring>? {
        let fd = open("/proc/cpuinfo", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 1 << 16)
        var filled = 0
        while filled < bytes.count {
            // Safe: reads into the array's own storage, at most its remaining capacity.
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n <= 0 { break }
            filled += n
        }
        let text = String(decoding: bytes[..<filled], as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":")
        else { return nil }
        return Set(line[line.index(after: colon)...].split(separator: " "))
    }
    #endif
}

extension InstructionSet {
    /// `ByteKernels.index` of this set's build.
    @inline(__always)
    func index(_ base: UnsafeRawPointer, count: Int, spaces: UnsafeMutablePointer<UInt64>, quotes: UnsafeMutablePointer<UInt64>) {
        switch self {
        case .sse2: ByteKernelsSSE2.ByteKernels.index(base, count: count, spaces: spaces, quotes: quotes)
        case .avx2: ByteKernelsAVX2.ByteKernels.index(base, count: count, spaces: spaces, quotes: quotes)
        case .avx512: ByteKernelsAVX512.ByteKernels.index(base, count: count, spaces: spaces, quotes: quotes)
        }
    }

    /// `ByteKernels.newline` of this set's build: at least 64 bytes.
    @inline(__always)
    func newline(in base: UnsafeRawPointer, from: Int, end: Int) -> Int {
        switch self {
        case .sse2: ByteKernelsSSE2.ByteKernels.newline(in: base, from: from, end: end)
        case .avx2: ByteKernelsAVX2.ByteKernels.newline(in: base, from: from, end: end)
        case .avx512: ByteKernelsAVX512.ByteKernels.newline(in: base, from: from, end: end)
        }
    }
}
