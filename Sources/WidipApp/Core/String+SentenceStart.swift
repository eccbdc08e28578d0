extension String {
    /// The text with a capital first letter, for a name that may start a sentence (« le serveur LLM … » → « Le … »).
    var atSentenceStart: String { prefix(1).uppercased() + dropFirst() }
}
