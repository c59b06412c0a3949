extension String {
    /// `self` after as many `pad` characters as make it `width` characters
    /// long; never cut ("7".leftPadded(3) is "007", "1234".leftPadded(2) is
    /// "1234"). Numbers in names and columns: "epoch-07", "0644", "   42".
    public func leftPadded(_ width: Int, _ pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }

    /// `self` followed by as many `pad` characters as make it `width`
    /// characters long; never cut (a column of text whose escapes must stay whole).
    public func rightPadded(_ width: Int, _ pad: Character = " ") -> String {
        count >= width ? self : self + String(repeating: pad, count: width - count)
    }
}
