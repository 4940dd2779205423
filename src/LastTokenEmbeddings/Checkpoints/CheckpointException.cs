namespace LastTokenEmbeddings.Checkpoints;

/// <summary>
/// A checkpoint file (weights, index, config or tokenizer) is missing, malformed or inconsistent.
/// The message always names the file, and the tensor where there is one.
/// </summary>
public class CheckpointException : Exception
{
    /// <summary>Creates the exception; the file (and tensor) are prefixed to <paramref name="message"/>.</summary>
    /// <param name="filePath">The offending file.</param>
    /// <param name="message">What is wrong with it.</param>
    /// <param name="tensorName">The offending tensor, when there is one.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public CheckpointException(string filePath, string message, string? tensorName = null, Exception? innerException = null)
        : base(Compose(filePath, message, tensorName), innerException)
    {
        FilePath = filePath;
        TensorName = tensorName;
    }

    /// <summary>The file at fault.</summary>
    public string FilePath { get; }

    /// <summary>The tensor at fault, or <see langword="null"/> when the problem is not about one tensor.</summary>
    public string? TensorName { get; }

    private static string Compose(string filePath, string message, string? tensorName) =>
        tensorName is null ? $"{filePath}: {message}" : $"{filePath}: tensor '{tensorName}': {message}";
}
