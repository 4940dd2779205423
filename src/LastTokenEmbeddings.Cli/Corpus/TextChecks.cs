using System.Text;
using System.Text.Unicode;

namespace LastTokenEmbeddings.Cli.Corpus;

/// <summary>Strict decoding: invalid UTF-8 and unpaired surrogates make a record bad instead of turning into U+FFFD.</summary>
internal static class TextChecks
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The string for valid UTF-8 bytes, or <see langword="null"/>.</summary>
    public static string? DecodeUtf8(ReadOnlySpan<byte> bytes) => Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : null;

    /// <summary>A JSON string's value, or <see langword="null"/> when its escapes spell an unpaired surrogate.</summary>
    public static string? TryGetString(System.Text.Json.JsonElement element)
    {
        try
        {
            var value = element.GetString();
            return value is not null && IsWellFormed(value) ? value : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Whether a string (e.g. unescaped from JSON) is well-formed UTF-16: no unpaired surrogate.</summary>
    public static bool IsWellFormed(string text)
    {
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
            return true;
        try
        {
            _ = Strict.GetByteCount(text);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }
}
