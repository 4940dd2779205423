using System.Text;

namespace LastTokenEmbeddings.Tokenization.HuggingFace;

/// <summary>A <c>decoder</c> of tokenizer.json: rewrites the list of token strings (the library's <c>decode_chain</c>).</summary>
internal interface ITokenDecoder
{
    List<string> DecodeChain(List<string> tokens);
}

/// <summary><c>ByteLevel</c>: token characters back to bytes, then UTF-8 with U+FFFD for invalid sequences.</summary>
internal sealed class ByteLevelDecoder : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            // A token with a character outside the byte alphabet (an added token) contributes its own UTF-8.
            if (!ByteLevelAlphabet.TryDecode(token, bytes))
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
        }
        return [Encoding.UTF8.GetString(bytes.ToArray())];
    }
}

/// <summary><c>ByteFallback</c>: runs of <c>&lt;0xAB&gt;</c> tokens become their UTF-8 text, or one U+FFFD per byte when invalid.</summary>
internal sealed class ByteFallbackDecoder : ITokenDecoder
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public List<string> DecodeChain(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        var pending = new List<byte>();
        foreach (var token in tokens)
        {
            if (TryParseByte(token, out var b))
            {
                pending.Add(b);
                continue;
            }
            Flush();
            output.Add(token);
        }
        Flush();
        return output;

        void Flush()
        {
            if (pending.Count == 0) return;
            try
            {
                output.Add(StrictUtf8.GetString(pending.ToArray()));
            }
            catch (DecoderFallbackException)
            {
                for (int i = 0; i < pending.Count; i++) output.Add("\uFFFD");
            }
            pending.Clear();
        }
    }

    /// <summary>Six UTF-8 bytes <c>&lt;0x..&gt;</c> whose middle parses as hex the way Rust's <c>u8::from_str_radix</c> does.</summary>
    private static bool TryParseByte(string token, out byte value)
    {
        value = 0;
        if (token.Length != 6 || !token.StartsWith("<0x", StringComparison.Ordinal) || token[5] != '>')
            return false;
        char high = token[3], low = token[4];
        if (high == '+' && char.IsAsciiHexDigit(low))
        {
            value = (byte)Convert.ToInt32(low.ToString(), 16);
            return true;
        }
        if (!char.IsAsciiHexDigit(high) || !char.IsAsciiHexDigit(low))
            return false;
        value = (byte)Convert.ToInt32(token.Substring(3, 2), 16);
        return true;
    }
}

/// <summary><c>Fuse</c>: all tokens into one string.</summary>
internal sealed class FuseDecoder : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
}

/// <summary><c>Strip</c>: removes up to <c>start</c> leading and <c>stop</c> trailing copies of <c>content</c> from every token.</summary>
internal sealed class StripDecoder(int content, int start, int stop) : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        foreach (var token in tokens)
        {
            var runes = new List<Rune>();
            foreach (var rune in token.EnumerateRunes()) runes.Add(rune);
            int first = 0;
            while (first < Math.Min(start, runes.Count) && runes[first].Value == content) first++;
            int end = runes.Count;
            for (int i = 0; i < stop && end > first && runes[end - 1].Value == content; i++) end--;
            var builder = new StringBuilder();
            for (int i = first; i < end; i++) builder.Append(runes[i].ToString());
            output.Add(builder.ToString());
        }
        return output;
    }
}

/// <summary><c>Replace</c> as a decoder: the pattern replaced in every token.</summary>
internal sealed class ReplaceDecoder(TextPattern pattern, string content) : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens) =>
        tokens.ConvertAll(token => ReplaceNormalizer.ReplaceAll(pattern, content, token));
}

/// <summary><c>Metaspace</c> as a decoder: the replacement becomes a space, and is dropped at the start of the first token unless the scheme is <c>never</c>.</summary>
internal sealed class MetaspaceDecoder(string replacement, PrependScheme scheme) : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            // Every replacement in the first token vanishes (not only a leading one), as in metaspace.rs.
            string space = i == 0 && scheme != PrependScheme.Never ? "" : " ";
            output.Add(tokens[i].Replace(replacement, space, StringComparison.Ordinal));
        }
        return output;
    }
}

/// <summary><c>BPEDecoder</c>: the end-of-word suffix becomes a space (nothing on the last token).</summary>
internal sealed class BpeSuffixDecoder(string suffix) : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
            output.Add(suffix.Length == 0 ? tokens[i] : tokens[i].Replace(suffix, i == tokens.Count - 1 ? "" : " ", StringComparison.Ordinal));
        return output;
    }
}

/// <summary><c>Sequence</c> of decoders, applied in order.</summary>
internal sealed class SequenceDecoder(IReadOnlyList<ITokenDecoder> decoders) : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        foreach (var decoder in decoders)
            tokens = decoder.DecodeChain(tokens);
        return tokens;
    }
}
