using System.Collections.Generic;

namespace Recurrent;

/// <summary>
/// What <see cref="Module.LoadStateDict"/> did not match with <c>strict: false</c>, like PyTorch's <c>_IncompatibleKeys</c>:
/// the module's keys the state lacked and the state's keys the module does not have.
/// </summary>
/// <param name="MissingKeys">Keys of the module that were not in the state (left unchanged).</param>
/// <param name="UnexpectedKeys">Keys of the state that the module does not have (ignored).</param>
public sealed record LoadStateDictResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);
