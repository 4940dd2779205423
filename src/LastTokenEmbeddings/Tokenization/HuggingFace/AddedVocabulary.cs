using System.Globalization;
using System.Text;

namespace LastTokenEmbeddings.Tokenization.HuggingFace;

/// <summary>One entry of <c>added_tokens</c> (or of tokenizer_config.json's <c>added_tokens_decoder</c>).</summary>
internal sealed record AddedTokenSpec(string Content, bool SingleWord, bool LStrip, bool RStrip, bool Normalized, bool Special);

/// <summary>
/// tokenizers' <c>AddedVocabulary</c> (tokenizer/added_vocabulary.rs): the added tokens, the ids they get, and the
/// splitting of input text on them. Built by <see cref="Builder"/>, immutable afterwards.
/// </summary>
internal sealed class AddedVocabulary
{
    private readonly Dictionary<string, int> _idByContent;
    private readonly Dictionary<int, AddedTokenSpec> _tokenById;
    private readonly HashSet<string> _special;
    private readonly Dictionary<int, string> _normalizedForms;
    private readonly Trie _raw;
    private readonly Trie _normalized;

    private AddedVocabulary(
        Dictionary<string, int> idByContent, Dictionary<int, AddedTokenSpec> tokenById, HashSet<string> special,
        Dictionary<int, string> normalizedForms, Trie raw, Trie normalized)
    {
        _idByContent = idByContent;
        _tokenById = tokenById;
        _special = special;
        _normalizedForms = normalizedForms;
        _raw = raw;
        _normalized = normalized;
    }

    public int? IdOf(string content) => _idByContent.TryGetValue(content, out var id) ? id : null;

    public AddedTokenSpec? TokenOf(int id) => _tokenById.TryGetValue(id, out var token) ? token : null;

    /// <summary>
    /// The library's <c>simple_id_to_token</c>: the normalized form of a normalized token when it differs from the
    /// content (so that a decoder can undo the normalization), else the content.
    /// </summary>
    public string? TokenStringOf(int id) =>
        _normalizedForms.TryGetValue(id, out var form) ? form : _tokenById.TryGetValue(id, out var token) ? token.Content : null;

    /// <summary>Whether the token with this content was ever added as special (the library never unmarks one).</summary>
    public bool IsSpecialContent(string content) => _special.Contains(content);

    public int MaxId => _tokenById.Count == 0 ? -1 : _tokenById.Keys.Max();

    /// <summary>
    /// <c>extract_and_normalize</c>: splits <paramref name="text"/> on the non-normalized added tokens, normalizes
    /// each remaining piece on its own, splits those on the normalized added tokens, and appends the result as
    /// (text, -1) pieces and (null, id) tokens. With <paramref name="skipSpecial"/>, special tokens are not
    /// recognised (the library's <c>encode_special_tokens</c>, transformers' <c>split_special_tokens</c>).
    /// </summary>
    public void ExtractAndNormalize(string text, ITextNormalizer? normalizer, bool skipSpecial, List<Segment> output)
    {
        var rawPieces = new List<Segment>();
        Split(text, atTextStart: true, _raw, skipSpecial, rawPieces);
        foreach (var piece in rawPieces)
        {
            if (piece.IsToken)
            {
                output.Add(piece);
                continue;
            }
            string normalized = normalizer is null ? piece.Text! : normalizer.Normalize(piece.Text!);
            if (normalized.Length != 0)
                Split(normalized, piece.AtTextStart, _normalized, skipSpecial, output);
        }
    }

    /// <summary>find_matches: leftmost-longest matches, filtered by single_word, widened by lstrip/rstrip.</summary>
    private void Split(string sentence, bool atTextStart, Trie trie, bool skipSpecial, List<Segment> output)
    {
        if (trie.IsEmpty)
        {
            AddText(sentence, 0, sentence.Length, atTextStart, output); // the library drops empty splits
            return;
        }
        int startOffset = 0;
        foreach (var (matchStart, matchEnd, id) in trie.LeftmostLongest(sentence))
        {
            var token = _tokenById[id];
            if (skipSpecial && _special.Contains(token.Content))
                continue;
            int start = matchStart, stop = matchEnd;
            if (token.SingleWord)
            {
                bool spaceBefore = start == 0 || !EndsWithWordCharacter(sentence, start);
                bool spaceAfter = stop == sentence.Length || !StartsWithWordCharacter(sentence, stop);
                if (!spaceBefore || !spaceAfter)
                    continue;
            }
            if (token.LStrip)
            {
                int newStart = start;
                while (newStart > 0 && char.IsWhiteSpace(sentence[newStart - 1])) newStart--;
                // Spaces an earlier match already took stay with it.
                start = Math.Max(newStart, startOffset);
            }
            if (token.RStrip)
            {
                while (stop < sentence.Length && char.IsWhiteSpace(sentence[stop])) stop++;
            }
            if (startOffset < start)
                AddText(sentence, startOffset, start, atTextStart && startOffset == 0, output);
            output.Add(Segment.OfToken(id));
            startOffset = stop;
        }
        if (startOffset != sentence.Length)
            AddText(sentence, startOffset, sentence.Length, atTextStart && startOffset == 0, output);
    }

    private static void AddText(string sentence, int start, int end, bool atTextStart, List<Segment> output)
    {
        if (end > start)
            output.Add(Segment.OfText(sentence[start..end], atTextStart));
    }

    /// <summary>Rust regex's Unicode <c>\w</c> on the last character before <paramref name="index"/>.</summary>
    private static bool EndsWithWordCharacter(string text, int index)
    {
        var status = Rune.DecodeLastFromUtf16(text.AsSpan(0, index), out var rune, out _);
        return status == System.Buffers.OperationStatus.Done && IsWordCharacter(rune);
    }

    private static bool StartsWithWordCharacter(string text, int index)
    {
        var status = Rune.DecodeFromUtf16(text.AsSpan(index), out var rune, out _);
        return status == System.Buffers.OperationStatus.Done && IsWordCharacter(rune);
    }

    /// <summary>
    /// <c>\w</c> of the Rust regex crate: Alphabetic, marks, decimal digits, connector punctuation and the
    /// joiners. Alphabetic is approximated by letters, letter numbers and the circled/squared Latin letters.
    /// </summary>
    internal static bool IsWordCharacter(Rune rune)
    {
        int value = rune.Value;
        if (value is 0x200C or 0x200D) return true;
        if (value is >= 0x24B6 and <= 0x24E9 or >= 0x1F130 and <= 0x1F149 or >= 0x1F150 and <= 0x1F169 or >= 0x1F170 and <= 0x1F189)
            return true;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => true,
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => true,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.ConnectorPunctuation => true,
            _ => false,
        };
    }

    /// <summary>
    /// Builds the vocabulary the way <c>AddedVocabulary::add_tokens</c> assigns ids: a token already known (added
    /// or in the model vocabulary) keeps its id, a new one gets the next free id; the id declared in the file must
    /// agree, so a file whose ids the library would silently renumber is refused instead.
    /// </summary>
    internal sealed class Builder(IReadOnlyDictionary<string, int> modelVocab, int modelVocabCount, IReadOnlyDictionary<int, string> modelIdToToken)
    {
        private readonly Dictionary<string, int> _idByContent = new(StringComparer.Ordinal);
        private readonly Dictionary<int, AddedTokenSpec> _tokenById = [];
        private readonly HashSet<string> _special = new(StringComparer.Ordinal);

        public int? IdOf(string content) => _idByContent.TryGetValue(content, out var id) ? id : null;

        /// <summary>Adds one batch (one <c>add_tokens</c> call); <paramref name="fail"/> builds the error for entry i.</summary>
        public void AddBatch(IReadOnlyList<(AddedTokenSpec Token, int? DeclaredId)> batch, Func<int, string, Exception> fail)
        {
            int nextId = _tokenById.Count == 0
                ? modelVocabCount
                : _tokenById.Keys.Max() is var max && (max >= modelVocabCount || modelVocabCount == 0) ? max + 1 : modelVocabCount;
            for (int i = 0; i < batch.Count; i++)
            {
                var (token, declared) = batch[i];
                if (token.Content.Length == 0)
                    continue; // the library ignores empty tokens
                int id;
                if (_idByContent.TryGetValue(token.Content, out var existing)) id = existing;
                else if (modelVocab.TryGetValue(token.Content, out var modelId)) id = modelId;
                else id = nextId;
                // Checked even where the library silently ignores the repeat, so that no file is read two ways.
                if (declared is { } declaredId && declaredId != id)
                    throw fail(i, string.Create(CultureInfo.InvariantCulture,
                        $"added token '{JsonField.Shorten(token.Content)}' is declared with id {declaredId}, but the tokenizers library gives it id {id} (the id of the same text in the vocabulary or among the added tokens, or the next free id)."));
                if (_tokenById.TryGetValue(id, out var same) && same == token)
                    continue; // the library's fast path: already there with the same flags
                if (id == nextId)
                    nextId++;
                if (modelIdToToken.TryGetValue(id, out var modelToken) && modelToken != token.Content)
                    throw fail(i, string.Create(CultureInfo.InvariantCulture,
                        $"added token '{JsonField.Shorten(token.Content)}' would get id {id}, which the vocabulary already uses for '{JsonField.Shorten(modelToken)}'."));
                if (_tokenById.TryGetValue(id, out var other) && other.Content != token.Content)
                    throw fail(i, string.Create(CultureInfo.InvariantCulture,
                        $"added token '{JsonField.Shorten(token.Content)}' would get id {id}, which is already the added token '{JsonField.Shorten(other.Content)}'."));
                _idByContent[token.Content] = id;
                if (token.Special) _special.Add(token.Content);
                _tokenById[id] = token;
            }
        }

        /// <summary>
        /// Freezes the vocabulary; normalized tokens are matched by their normalized form. Two tokens whose
        /// matching forms coincide, or a normalized form that is empty, make the library fail to build its
        /// automaton, and are refused here.
        /// </summary>
        public AddedVocabulary Build(ITextNormalizer? normalizer, Func<string, Exception> fail)
        {
            var raw = new Trie();
            var normalized = new Trie();
            var forms = new Dictionary<int, string>();
            foreach (var (id, token) in _tokenById.OrderBy(pair => pair.Key))
            {
                string form = token.Normalized && normalizer is not null ? normalizer.Normalize(token.Content) : token.Content;
                if (form.Length == 0)
                    throw fail($"added token '{JsonField.Shorten(token.Content)}' normalizes to the empty string.");
                if (form != token.Content)
                    forms[id] = form;
                var trie = token.Normalized ? normalized : raw;
                if (!trie.Add(form, id))
                    throw fail($"added token '{JsonField.Shorten(token.Content)}' is matched by the same text as another added token.");
            }
            return new AddedVocabulary(_idByContent, _tokenById, _special, forms, raw, normalized);
        }
    }

    /// <summary>A character trie answering leftmost-longest queries.</summary>
    private sealed class Trie
    {
        private readonly List<Dictionary<char, int>> _children = [new()];
        private readonly List<int> _value = [-1];

        public bool IsEmpty => _children[0].Count == 0;

        public bool Add(string key, int id)
        {
            int node = 0;
            foreach (char c in key)
            {
                if (!_children[node].TryGetValue(c, out var child))
                {
                    child = _children.Count;
                    _children.Add([]);
                    _value.Add(-1);
                    _children[node][c] = child;
                }
                node = child;
            }
            if (_value[node] >= 0)
                return false;
            _value[node] = id;
            return true;
        }

        /// <summary>Non-overlapping matches: the leftmost start, the longest token there, then onwards from its end.</summary>
        public IEnumerable<(int Start, int End, int Id)> LeftmostLongest(string text)
        {
            int position = 0;
            while (position < text.Length)
            {
                int node = 0, bestEnd = -1, bestId = -1;
                for (int i = position; i < text.Length && _children[node].TryGetValue(text[i], out var child); i++)
                {
                    node = child;
                    if (_value[node] >= 0)
                    {
                        bestEnd = i + 1;
                        bestId = _value[node];
                    }
                }
                if (bestEnd < 0)
                {
                    position++;
                    continue;
                }
                yield return (position, bestEnd, bestId);
                position = bestEnd;
            }
        }
    }
}

/// <summary>Either a piece of text still to tokenize, or an added token already recognised.</summary>
internal readonly record struct Segment(string? Text, int TokenId, bool AtTextStart)
{
    public bool IsToken => Text is null;

    public static Segment OfText(string text, bool atTextStart) => new(text, -1, atTextStart);

    public static Segment OfToken(int id) => new(null, id, false);
}
