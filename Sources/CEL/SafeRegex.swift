/// A small RE2-compatible regular expression matcher for `matches`.
///
/// Matching simulates the automaton over all threads at once (a Pike VM without captures),
/// so it runs in time proportional to input length × program size and can never backtrack
/// catastrophically on a pattern written by whoever may set a policy. Like RE2 (and CEL's
/// `matches`) a match may occur anywhere in the string unless the pattern is anchored.
///
/// Supported: literals, `.`, `[...]` classes with ranges and negation, `\d \w \s` and their
/// negations, `^ $ \A \z \b \B`, groups `( )`, `(?: )`, `(?P<name> )`, alternation `|`,
/// and `* + ? {m} {m,} {m,n}` (lazy `?` suffixes are accepted; they do not change whether
/// a string matches). Flags such as `(?i)`, Unicode classes and backreferences are refused.
struct SafeRegex: Sendable {
    static let maxPatternLength = 1024
    static let maxProgramSize = 2000
    static let maxRepeat = 1000
    static let maxGroupDepth = 32

    fileprivate let program: [Instruction]

    init(_ pattern: String) throws(SafeRegexError) {
        let scalars = Array(pattern.unicodeScalars)
        guard scalars.count <= SafeRegex.maxPatternLength else {
            throw SafeRegexError(message: "pattern is longer than \(SafeRegex.maxPatternLength) characters")
        }
        var parser = RegexParser(scalars: scalars)
        let tree = try parser.parse()
        var compiler = RegexCompiler()
        try compiler.emit(tree)
        compiler.program.append(.match)
        program = compiler.program
    }

    func matches(_ string: String) -> Bool {
        let input = Array(string.unicodeScalars)
        var current = SparseSet(capacity: program.count)
        var next = SparseSet(capacity: program.count)
        addThread(&current, pc: 0, position: 0, input: input)
        var position = 0
        while true {
            for pc in current.dense {
                if case .match = program[pc] { return true }
            }
            if position == input.count { return false }
            let c = input[position]
            next.removeAll()
            for pc in current.dense {
                let advances: Bool
                switch program[pc] {
                case let .scalar(s): advances = s == c
                case .any: advances = c != "\n"
                case let .set(set): advances = set.contains(c)
                default: advances = false
                }
                if advances { addThread(&next, pc: pc + 1, position: position + 1, input: input) }
            }
            // Unanchored search: a new attempt may start at every position.
            addThread(&next, pc: 0, position: position + 1, input: input)
            swap(&current, &next)
            position += 1
        }
    }

    /// Follows jumps, splits and assertions from `pc` without recursion.
    private func addThread(_ set: inout SparseSet, pc start: Int, position: Int, input: [Unicode.Scalar]) {
        var stack = [start]
        while let pc = stack.popLast() {
            if set.contains(pc) { continue }
            set.insert(pc)
            switch program[pc] {
            case let .jump(target):
                stack.append(target)
            case let .split(first, second):
                stack.append(second)
                stack.append(first)
            case .assertBegin:
                if position == 0 { stack.append(pc + 1) }
            case .assertEnd:
                if position == input.count { stack.append(pc + 1) }
            case let .wordBoundary(expected):
                let before = position > 0 && input[position - 1].isRegexWord
                let after = position < input.count && input[position].isRegexWord
                if (before != after) == expected { stack.append(pc + 1) }
            case .scalar, .any, .set, .match:
                break
            }
        }
    }
}

fileprivate enum Instruction: Sendable {
    case scalar(Unicode.Scalar)
    case any
    case set(RegexCharSet)
    case split(Int, Int)
    case jump(Int)
    case assertBegin
    case assertEnd
    case wordBoundary(Bool)
    case match
}

/// A set of code point ranges, possibly negated.
struct RegexCharSet: Sendable {
    var ranges: [ClosedRange<UInt32>]
    var negated = false

    func contains(_ c: Unicode.Scalar) -> Bool {
        ranges.contains { $0.contains(c.value) } != negated
    }

    static let digit = RegexCharSet(ranges: [48...57])
    static let word = RegexCharSet(ranges: [48...57, 65...90, 95...95, 97...122])
    static let space = RegexCharSet(ranges: [9...10, 12...13, 32...32])

    /// The same set as explicit ranges, for use inside a bracket class.
    var resolvedRanges: [ClosedRange<UInt32>] {
        guard negated else { return ranges }
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if r.lowerBound > next { result.append(next...(r.lowerBound - 1)) }
            next = max(next, r.upperBound &+ 1)
        }
        if next <= 0x10FFFF { result.append(next...0x10FFFF) }
        return result
    }
}

private struct SparseSet {
    var dense: [Int] = []
    var sparse: [Int]

    init(capacity: Int) {
        sparse = Array(repeating: 0, count: capacity)
        dense.reserveCapacity(capacity)
    }

    func contains(_ value: Int) -> Bool {
        let i = sparse[value]
        return i < dense.count && dense[i] == value
    }

    mutating func insert(_ value: Int) {
        sparse[value] = dense.count
        dense.append(value)
    }

    mutating func removeAll() { dense.removeAll(keepingCapacity: true) }
}

private indirect enum RegexNode {
    case empty
    case scalar(Unicode.Scalar)
    case any
    case set(RegexCharSet)
    case begin
    case end
    case wordBoundary(Bool)
    case concat([RegexNode])
    case alternate([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?)
}

private struct RegexParser {
    let scalars: [Unicode.Scalar]
    var position = 0
    var depth = 0

    init(scalars: [Unicode.Scalar]) {
        self.scalars = scalars
    }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        position + ahead < scalars.count ? scalars[position + ahead] : nil
    }

    mutating func parse() throws(SafeRegexError) -> RegexNode {
        let node = try parseAlternation()
        if position < scalars.count {
            throw SafeRegexError(message: "unexpected ')'")
        }
        return node
    }

    private mutating func parseAlternation() throws(SafeRegexError) -> RegexNode {
        var branches = [try parseConcatenation()]
        while peek() == "|" {
            position += 1
            branches.append(try parseConcatenation())
        }
        return branches.count == 1 ? branches[0] : .alternate(branches)
    }

    private mutating func parseConcatenation() throws(SafeRegexError) -> RegexNode {
        var items: [RegexNode] = []
        while let c = peek(), c != "|", c != ")" {
            var atom = try parseAtom()
            var quantified = false
            while let q = peek() {
                var bounds: (Int, Int?)?
                switch q {
                case "*": bounds = (0, nil)
                case "+": bounds = (1, nil)
                case "?": bounds = (0, 1)
                case "{": bounds = try parseBraces()
                default: break
                }
                guard let (lo, hi) = bounds else { break }
                if q != "{" { position += 1 }
                if quantified { throw SafeRegexError(message: "bad repetition operator '\(Character(q))'") }
                quantified = true
                if peek() == "?" { position += 1 }  // lazy: same set of matching strings
                atom = .repetition(atom, min: lo, max: hi)
            }
            items.append(atom)
        }
        switch items.count {
        case 0: return .empty
        case 1: return items[0]
        default: return .concat(items)
        }
    }

    /// `{m}`, `{m,}` or `{m,n}`; anything else makes `{` a literal, as in RE2.
    private mutating func parseBraces() throws(SafeRegexError) -> (Int, Int?)? {
        var i = position + 1
        func number() -> Int? {
            var value = 0
            var digits = 0
            while i < scalars.count, scalars[i].isASCIIDigit, digits < 5 {
                value = value * 10 + Int(scalars[i].value - 48)
                digits += 1
                i += 1
            }
            return digits > 0 ? value : nil
        }
        guard let lo = number() else { return nil }
        var hi: Int? = lo
        if i < scalars.count, scalars[i] == "," {
            i += 1
            hi = number()
        }
        guard i < scalars.count, scalars[i] == "}" else { return nil }
        if lo > SafeRegex.maxRepeat || (hi ?? 0) > SafeRegex.maxRepeat {
            throw SafeRegexError(message: "repetition count exceeds \(SafeRegex.maxRepeat)")
        }
        if let hi, hi < lo { throw SafeRegexError(message: "invalid repetition range {\(lo),\(hi)}") }
        position = i + 1
        return (lo, hi)
    }

    private mutating func parseAtom() throws(SafeRegexError) -> RegexNode {
        let c = scalars[position]
        position += 1
        switch c {
        case "*", "+", "?":
            throw SafeRegexError(message: "missing argument to repetition operator '\(Character(c))'")
        case ".": return .any
        case "^": return .begin
        case "$": return .end
        case "[": return .set(try parseClass())
        case "\\": return try parseEscape(inClass: false)
        case "(":
            depth += 1
            defer { depth -= 1 }
            guard depth <= SafeRegex.maxGroupDepth else {
                throw SafeRegexError(message: "groups nest more than \(SafeRegex.maxGroupDepth) deep")
            }
            if peek() == "?" {
                if peek(1) == ":" {
                    position += 2
                } else if peek(1) == "P" && peek(2) == "<" || peek(1) == "<" {
                    while let s = peek(), s != ">" { position += 1 }
                    guard peek() == ">" else { throw SafeRegexError(message: "invalid named group") }
                    position += 1
                } else {
                    throw SafeRegexError(message: "flags and special groups '(?' are not supported")
                }
            }
            let inner = try parseAlternation()
            guard peek() == ")" else { throw SafeRegexError(message: "missing ')'") }
            position += 1
            return inner
        default:
            return .scalar(c)
        }
    }

    private mutating func parseClass() throws(SafeRegexError) -> RegexCharSet {
        var set = RegexCharSet(ranges: [])
        if peek() == "^" {
            set.negated = true
            position += 1
        }
        var first = true
        while true {
            guard let c = peek() else { throw SafeRegexError(message: "missing ']'") }
            if c == "]" && !first {
                position += 1
                return set
            }
            first = false
            if c == "[" && peek(1) == ":" {
                throw SafeRegexError(message: "POSIX character classes are not supported")
            }
            position += 1
            var low: UInt32
            if c == "\\" {
                switch try parseEscape(inClass: true) {
                case let .scalar(s): low = s.value
                case let .set(inner):
                    set.ranges += inner.resolvedRanges
                    continue
                default: throw SafeRegexError(message: "invalid escape in character class")
                }
            } else {
                low = c.value
            }
            if peek() == "-", let after = peek(1), after != "]" {
                position += 1
                let high: UInt32
                if after == "\\" {
                    position += 1
                    guard case let .scalar(s) = try parseEscape(inClass: true) else {
                        throw SafeRegexError(message: "invalid character class range")
                    }
                    high = s.value
                } else {
                    position += 1
                    high = after.value
                }
                guard low <= high else { throw SafeRegexError(message: "invalid character class range") }
                set.ranges.append(low...high)
            } else {
                set.ranges.append(low...low)
            }
        }
    }

    /// Called after the backslash.
    private mutating func parseEscape(inClass: Bool) throws(SafeRegexError) -> RegexNode {
        guard let c = peek() else { throw SafeRegexError(message: "trailing backslash") }
        position += 1
        switch c {
        case "d": return .set(.digit)
        case "D": return .set(RegexCharSet(ranges: RegexCharSet.digit.ranges, negated: true))
        case "w": return .set(.word)
        case "W": return .set(RegexCharSet(ranges: RegexCharSet.word.ranges, negated: true))
        case "s": return .set(.space)
        case "S": return .set(RegexCharSet(ranges: RegexCharSet.space.ranges, negated: true))
        case "n": return .scalar("\n")
        case "t": return .scalar("\t")
        case "r": return .scalar("\r")
        case "f": return .scalar("\u{0C}")
        case "v": return .scalar("\u{0B}")
        case "a": return .scalar("\u{07}")
        case "A" where !inClass: return .begin
        case "z" where !inClass: return .end
        case "b" where !inClass: return .wordBoundary(true)
        case "B" where !inClass: return .wordBoundary(false)
        case "x":
            var value: UInt32 = 0
            if peek() == "{" {
                position += 1
                var digits = 0
                while let h = peek(), let d = h.digitValue(radix: 16), digits < 6 {
                    value = value * 16 + UInt32(d)
                    digits += 1
                    position += 1
                }
                guard digits > 0, peek() == "}" else { throw SafeRegexError(message: "invalid \\x escape") }
                position += 1
            } else {
                for _ in 0..<2 {
                    guard let h = peek(), let d = h.digitValue(radix: 16) else {
                        throw SafeRegexError(message: "invalid \\x escape")
                    }
                    value = value * 16 + UInt32(d)
                    position += 1
                }
            }
            guard let scalar = Unicode.Scalar(value) else { throw SafeRegexError(message: "invalid \\x escape") }
            return .scalar(scalar)
        default:
            if c.isASCIIDigit {
                throw SafeRegexError(message: "backreferences and octal escapes are not supported")
            }
            // Any ASCII punctuation may be escaped to stand for itself.
            if c.value < 128 && !c.isIdentifierContinue && c.value > 32 {
                return .scalar(c)
            }
            throw SafeRegexError(message: "invalid escape sequence '\\\(Character(c))'")
        }
    }
}

private struct RegexCompiler {
    var program: [Instruction] = []

    private mutating func append(_ instruction: Instruction) throws(SafeRegexError) -> Int {
        guard program.count < SafeRegex.maxProgramSize else {
            throw SafeRegexError(message: "pattern is too large once repetitions are expanded")
        }
        program.append(instruction)
        return program.count - 1
    }

    mutating func emit(_ node: RegexNode) throws(SafeRegexError) {
        switch node {
        case .empty: break
        case let .scalar(c): _ = try append(.scalar(c))
        case .any: _ = try append(.any)
        case let .set(set): _ = try append(.set(set))
        case .begin: _ = try append(.assertBegin)
        case .end: _ = try append(.assertEnd)
        case let .wordBoundary(b): _ = try append(.wordBoundary(b))
        case let .concat(items):
            for item in items { try emit(item) }
        case let .alternate(branches):
            var exits: [Int] = []
            for (i, branch) in branches.enumerated() {
                if i == branches.count - 1 {
                    try emit(branch)
                } else {
                    let split = try append(.split(0, 0))
                    try emit(branch)
                    exits.append(try append(.jump(0)))
                    program[split] = .split(split + 1, program.count)
                }
            }
            for exit in exits { program[exit] = .jump(program.count) }
        case let .repetition(inner, min, max):
            for _ in 0..<min { try emit(inner) }
            if let max {
                // Optional copies: x{2,4} = x x x? x?.
                for _ in min..<max {
                    let split = try append(.split(0, 0))
                    try emit(inner)
                    program[split] = .split(split + 1, program.count)
                }
            } else {
                let split = try append(.split(0, 0))
                try emit(inner)
                _ = try append(.jump(split))
                program[split] = .split(split + 1, program.count)
            }
        }
    }
}

extension Unicode.Scalar {
    var isRegexWord: Bool { isIdentifierContinue }
}
